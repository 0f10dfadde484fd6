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
