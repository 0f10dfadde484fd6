"""System templates every user sees (read-only): structured sections rendered into the prompt."""

from __future__ import annotations

from typing import Any


def _t(name: str, category: str, language: str, description: str, sections: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {
        "name": name,
        "category": category,
        "language": language,
        "description": description,
        "sections": [{"title": t, "instruction": i, "format": f} for t, i, f in sections],
    }


SYSTEM_TEMPLATES = [
    _t(
        "General meeting minutes",
        "meeting",
        "en",
        "Summary, discussion, decisions and action items.",
        [
            ("Summary", "What the meeting was about and its outcome, in 3-5 sentences.", "paragraph"),
            ("Discussion", "The main topics, one bullet each, with who raised them.", "bullets"),
            ("Decisions", "Every decision taken.", "bullets"),
            ("Action items", "Task, owner, due date.", "table"),
        ],
    ),
    _t(
        "Interview notes",
        "interview",
        "en",
        "Candidate or user interview.",
        [
            ("Background", "Who was interviewed and the context.", "paragraph"),
            ("Key answers", "Question and answer pairs that matter.", "bullets"),
            ("Strengths and concerns", "Evidence-based, with quotes.", "bullets"),
            ("Next steps", "What happens next and who does it.", "bullets"),
        ],
    ),
    _t(
        "Technical review",
        "engineering",
        "en",
        "Design or code review.",
        [
            ("Proposal", "What is being reviewed.", "paragraph"),
            ("Risks and open questions", "Each risk with its mitigation if discussed.", "bullets"),
            ("Decisions", "Accepted, rejected or deferred, with reasons.", "bullets"),
            ("Follow-ups", "Task, owner, due date.", "table"),
        ],
    ),
    _t(
        "Daily stand-up",
        "standup",
        "en",
        "Yesterday, today, blockers per person.",
        [
            ("Updates", "Per person: done, doing next.", "bullets"),
            ("Blockers", "Each blocker and who can unblock it.", "bullets"),
        ],
    ),
    _t(
        "会议纪要",
        "meeting",
        "zh",
        "概要、讨论、决定和待办事项。",
        [
            ("概要", "会议主题和结果，3-5 句话。", "paragraph"),
            ("讨论要点", "主要议题，每条注明提出人。", "bullets"),
            ("决定", "会上做出的所有决定。", "bullets"),
            ("待办事项", "任务、负责人、截止时间。", "table"),
        ],
    ),
    _t(
        "访谈记录",
        "interview",
        "zh",
        "候选人或用户访谈。",
        [
            ("背景", "受访者和访谈背景。", "paragraph"),
            ("关键回答", "重要的问题与回答。", "bullets"),
            ("优势与顾虑", "基于事实，附引用。", "bullets"),
            ("后续步骤", "下一步及负责人。", "bullets"),
        ],
    ),
    _t(
        "技术评审",
        "engineering",
        "zh",
        "设计或代码评审。",
        [
            ("评审内容", "被评审的方案。", "paragraph"),
            ("风险与问题", "每个风险及讨论过的应对。", "bullets"),
            ("结论", "通过、否决或推迟，并说明原因。", "bullets"),
            ("后续工作", "任务、负责人、截止时间。", "table"),
        ],
    ),
    _t(
        "每日站会",
        "standup",
        "zh",
        "每人的昨日、今日和阻碍。",
        [("进展", "每人：已完成、下一步。", "bullets"), ("阻碍", "每个阻碍及可协助的人。", "bullets")],
    ),
]


# Migration 0007: the domain and category of the templates above (the pair is the label domain
# classification chooses from), the extraction schema of the stand-ups, and templates for calls and
# appointments whose point is the fields they extract. Keys of extracted fields are English in every
# language (integrations read them); their titles are in the template's language.
EXISTING_LABELS: dict[str, tuple[str, str]] = {
    "General meeting minutes": ("general", "meeting"),
    "会议纪要": ("general", "meeting"),
    "Interview notes": ("research", "interview"),
    "访谈记录": ("research", "interview"),
    "Technical review": ("engineering", "review"),
    "技术评审": ("engineering", "review"),
    "Daily stand-up": ("engineering", "standup"),
    "每日站会": ("engineering", "standup"),
}


def _text(title: str, description: str = "") -> dict[str, Any]:
    return {"type": ["string", "null"], "title": title, **({"description": description} if description else {})}


def _list(title: str, description: str = "") -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "title": title, **({"description": description} if description else {})}


def _schema(properties: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every field required, null (or an empty list) when the transcript does not say: the shape
    of an extraction is the same on every session."""
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def _standup(person: str, done: str, doing: str, blockers: str, updates: str) -> dict[str, Any]:
    update = {
        "type": "object",
        "properties": {"person": {"type": "string", "title": person}, "done": _list(done), "next": _list(doing)},
        "required": ["person", "done", "next"],
    }
    return _schema({"updates": {"type": "array", "items": update, "title": updates}, "blockers": _list(blockers)})


STANDUP_SCHEMAS = {
    "Daily stand-up": _standup("Person", "Done", "Next", "Blockers", "Updates"),
    "每日站会": _standup("成员", "已完成", "下一步", "阻碍", "进展"),
}


def _x(
    name: str,
    domain: str,
    category: str,
    language: str,
    description: str,
    sections: list[tuple[str, str, str]],
    schema: dict[str, Any],
) -> dict[str, Any]:
    return {**_t(name, category, language, description, sections), "domain": domain, "extraction_schema": schema}


SALES_EN = _schema(
    {
        "customer": _text("Customer", "the customer's company or name"),
        "contacts": _list("Customer contacts", "people on the customer's side"),
        "products": _list("Products", "products or plans discussed"),
        "budget": _text("Budget", "as said, with its currency"),
        "next_step": _text("Next step"),
        "next_step_date": _text("Date of the next step", "YYYY-MM-DD when a date is clear, else as said"),
        "objections": _list("Objections"),
    }
)
SALES_ZH = _schema(
    {
        "customer": _text("客户", "客户公司或姓名"),
        "contacts": _list("客户联系人"),
        "products": _list("产品", "讨论到的产品或方案"),
        "budget": _text("预算", "原话，含币种"),
        "next_step": _text("下一步"),
        "next_step_date": _text("下一步日期", "日期明确时写 YYYY-MM-DD，否则照原话"),
        "objections": _list("顾虑与异议"),
    }
)
MEDICAL_EN = _schema(
    {
        "patient_concerns": _list("Patient concerns", "what the patient came about, in their words"),
        "symptoms": _list("Symptoms"),
        "medications_mentioned": _list("Medications mentioned", "name and dose as said"),
        "assessment": _text("Assessment", "what the clinician said it is, if they did"),
        "follow_up": _text("Follow-up", "what happens next and when"),
    }
)
MEDICAL_ZH = _schema(
    {
        "patient_concerns": _list("患者主诉"),
        "symptoms": _list("症状"),
        "medications_mentioned": _list("提到的药物", "药名和剂量（照原话）"),
        "assessment": _text("医生判断"),
        "follow_up": _text("复诊与后续", "下一步及时间"),
    }
)
SUPPORT_EN = _schema(
    {
        "customer": _text("Customer"),
        "product": _text("Product"),
        "issue": _text("Issue", "the problem in one sentence"),
        "severity": {"enum": ["low", "medium", "high", "critical", None], "title": "Severity"},
        "steps_taken": _list("Steps taken"),
        "resolved": {"type": ["boolean", "null"], "title": "Resolved"},
        "follow_up": _text("Follow-up"),
    }
)
SUPPORT_ZH = _schema(
    {
        "customer": _text("客户"),
        "product": _text("产品"),
        "issue": _text("问题", "一句话描述"),
        "severity": {"enum": ["low", "medium", "high", "critical", None], "title": "严重程度"},
        "steps_taken": _list("已采取的步骤"),
        "resolved": {"type": ["boolean", "null"], "title": "是否解决"},
        "follow_up": _text("后续跟进"),
    }
)
INTERVIEW_EN = _schema(
    {
        "candidate": _text("Candidate"),
        "role": _text("Role"),
        "strengths": _list("Strengths", "with the evidence given"),
        "concerns": _list("Concerns"),
        "recommendation": {"enum": ["hire", "no hire", "undecided", None], "title": "Recommendation"},
        "next_step": _text("Next step"),
    }
)
INTERVIEW_ZH = _schema(
    {
        "candidate": _text("候选人"),
        "role": _text("职位"),
        "strengths": _list("优势", "附依据"),
        "concerns": _list("顾虑"),
        "recommendation": {"enum": ["hire", "no hire", "undecided", None], "title": "建议"},
        "next_step": _text("下一步"),
    }
)

EXTRACTION_TEMPLATES = [
    _x(
        "Sales call",
        "sales",
        "call",
        "en",
        "A call with a customer or prospect: needs, products, budget, next step.",
        [
            ("Summary", "The customer's situation and what was agreed.", "paragraph"),
            ("Next steps", "Task, owner, date.", "table"),
        ],
        SALES_EN,
    ),
    _x(
        "Medical appointment",
        "healthcare",
        "appointment",
        "en",
        "A clinician and a patient: concerns, medications, follow-up.",
        [
            ("Visit summary", "Why the patient came and what was decided.", "paragraph"),
            ("Plan", "Tests, treatment, follow-up.", "bullets"),
        ],
        MEDICAL_EN,
    ),
    _x(
        "Support call",
        "support",
        "call",
        "en",
        "A customer reporting a problem: the issue, what was tried, whether it was solved.",
        [
            ("Issue", "The problem as the customer described it.", "paragraph"),
            ("Resolution", "What was done and what is left.", "bullets"),
        ],
        SUPPORT_EN,
    ),
    _x(
        "Job interview",
        "hr",
        "interview",
        "en",
        "A candidate interviewed for a role: strengths, concerns, recommendation.",
        [
            ("Candidate", "Background and the role.", "paragraph"),
            ("Assessment", "Strengths and concerns with evidence.", "bullets"),
        ],
        INTERVIEW_EN,
    ),
    _x(
        "销售电话",
        "sales",
        "call",
        "zh",
        "与客户或潜在客户的通话：需求、产品、预算、下一步。",
        [("概要", "客户情况和达成的共识。", "paragraph"), ("下一步", "任务、负责人、日期。", "table")],
        SALES_ZH,
    ),
    _x(
        "门诊问诊",
        "healthcare",
        "appointment",
        "zh",
        "医生与患者：主诉、用药、复诊。",
        [("问诊概要", "就诊原因和结论。", "paragraph"), ("诊疗计划", "检查、治疗、复诊。", "bullets")],
        MEDICAL_ZH,
    ),
    _x(
        "客服电话",
        "support",
        "call",
        "zh",
        "客户报告问题：问题、已尝试的步骤、是否解决。",
        [("问题", "客户描述的问题。", "paragraph"), ("处理结果", "已做的和待办的。", "bullets")],
        SUPPORT_ZH,
    ),
    _x(
        "招聘面试",
        "hr",
        "interview",
        "zh",
        "候选人面试：优势、顾虑、建议。",
        [("候选人", "背景与应聘职位。", "paragraph"), ("评估", "优势与顾虑，附依据。", "bullets")],
        INTERVIEW_ZH,
    ),
]
