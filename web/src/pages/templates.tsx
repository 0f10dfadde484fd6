// Summary templates: the built-in ones (read-only; duplicate one to change it) and your own
// (create, edit, delete), each a list of sections with an instruction and a format.

import { useState } from "preact/hooks";
import { api, type Section, type Template } from "../api";
import { t, tMaybe } from "../i18n";
import { ErrorText, useLoad } from "../ui";

interface Draft { id: string | null; name: string; description: string; language: string; sections: Section[] }

const EMPTY: Draft = { id: null, name: "", description: "", language: "en", sections: [{ title: "", instruction: "", format: "paragraph" }] };

export function TemplatesPage() {
  const templates = useLoad(() => api<Template[]>("/api/v1/templates/"), []);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [error, setError] = useState<unknown>(null);
  const all = templates.data ?? [];
  const system = all.filter((x) => x.is_system);
  const mine = all.filter((x) => !x.is_system);

  const edit = (template: Template, copy: boolean) =>
    setDraft({
      id: copy ? null : template.id,
      name: copy ? t("copyOf", { name: template.name }) : template.name,
      description: template.description ?? "",
      language: template.language,
      sections: template.sections.map((s) => ({ title: s.title, instruction: s.instruction ?? "", format: s.format ?? "paragraph" })),
    });
  const remove = async (template: Template) => {
    if (!confirm(t("confirmDeleteTemplate", { name: template.name }))) return;
    try {
      await api(`/api/v1/templates/${template.id}`, { method: "DELETE" });
      templates.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <main id="main" tabIndex={-1}>
      <div class="page-head">
        <h1>{t("templatesTitle")}</h1>
        <button type="button" onClick={() => setDraft({ ...EMPTY, sections: [...EMPTY.sections] })}>
          {t("newTemplate")}
        </button>
      </div>
      <ErrorText error={error ?? templates.error} />
      {draft && (
        <TemplateEditor
          draft={draft}
          onDone={() => {
            setDraft(null);
            templates.reload();
          }}
          onCancel={() => setDraft(null)}
        />
      )}
      <h2>{t("myTemplates")}</h2>
      {templates.data && mine.length === 0 && <p class="muted">{t("noOwnTemplates")}</p>}
      <ul class="template-list">
        {mine.map((template) => (
          <TemplateItem key={template.id} template={template}>
            <button type="button" class="secondary" onClick={() => edit(template, false)}>
              {t("edit")}
            </button>
            <button type="button" class="danger" onClick={() => remove(template)}>
              {t("delete")}
            </button>
          </TemplateItem>
        ))}
      </ul>
      <h2>{t("systemTemplates")}</h2>
      <ul class="template-list">
        {system.map((template) => (
          <TemplateItem key={template.id} template={template}>
            <button type="button" class="secondary" onClick={() => edit(template, true)}>
              {t("duplicate")}
            </button>
          </TemplateItem>
        ))}
      </ul>
    </main>
  );
}

function TemplateItem({ template, children }: { template: Template; children: preact.ComponentChildren }) {
  return (
    <li class="card" data-template-id={template.id}>
      <div class="page-head">
        <h3>
          {template.name} <span class="badge">{template.language}</span>
        </h3>
        <div class="actions">{children}</div>
      </div>
      {template.description && <p class="muted">{template.description}</p>}
      <ol class="small">
        {template.sections.map((section, i) => (
          <li key={i}>
            <strong>{section.title}</strong> — {tMaybe("format_", section.format)}
          </li>
        ))}
      </ol>
    </li>
  );
}

function TemplateEditor(props: { draft: Draft; onDone: () => void; onCancel: () => void }) {
  const [draft, setDraft] = useState(props.draft);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const setSection = (index: number, change: Partial<Section>) =>
    setDraft({ ...draft, sections: draft.sections.map((s, i) => (i === index ? { ...s, ...change } : s)) });

  const save = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const body = {
      name: draft.name,
      description: draft.description || null,
      language: draft.language,
      sections: draft.sections.filter((s) => s.title.trim()),
    };
    try {
      if (draft.id) await api(`/api/v1/templates/${draft.id}`, { method: "PATCH", body });
      else await api("/api/v1/templates/", { method: "POST", body });
      props.onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card stack editor" onSubmit={save} aria-labelledby="editor-heading">
      <h2 id="editor-heading">{draft.id ? t("edit") : t("newTemplate")}</h2>
      <label for="tpl-name">{t("name")}</label>
      <input id="tpl-name" required maxLength={200} value={draft.name} onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })} />
      <label for="tpl-description">{t("description")}</label>
      <textarea
        id="tpl-description"
        rows={2}
        value={draft.description}
        onInput={(e) => setDraft({ ...draft, description: e.currentTarget.value })}
      />
      <label for="tpl-language">{t("language")}</label>
      <select id="tpl-language" value={draft.language} onChange={(e) => setDraft({ ...draft, language: e.currentTarget.value })}>
        <option value="en">English</option>
        <option value="zh">中文</option>
      </select>
      <fieldset>
        <legend>{t("sections")}</legend>
        {draft.sections.map((section, i) => (
          <div class="section-row" key={i}>
            <label for={`sec-title-${i}`}>{t("sectionTitle")}</label>
            <input id={`sec-title-${i}`} maxLength={200} value={section.title} onInput={(e) => setSection(i, { title: e.currentTarget.value })} />
            <label for={`sec-instruction-${i}`}>{t("instruction")}</label>
            <textarea
              id={`sec-instruction-${i}`}
              rows={2}
              maxLength={2000}
              value={section.instruction}
              onInput={(e) => setSection(i, { instruction: e.currentTarget.value })}
            />
            <label for={`sec-format-${i}`}>{t("format")}</label>
            <div class="row wrap">
              <select
                id={`sec-format-${i}`}
                value={section.format}
                onChange={(e) => setSection(i, { format: e.currentTarget.value as Section["format"] })}
              >
                {(["paragraph", "bullets", "table"] as const).map((f) => (
                  <option key={f} value={f}>
                    {tMaybe("format_", f)}
                  </option>
                ))}
              </select>
              <button
                type="button"
                class="secondary"
                onClick={() => setDraft({ ...draft, sections: draft.sections.filter((_, j) => j !== i) })}
              >
                {t("removeSection")}
              </button>
            </div>
          </div>
        ))}
        <button
          type="button"
          class="secondary"
          onClick={() => setDraft({ ...draft, sections: [...draft.sections, { title: "", instruction: "", format: "paragraph" }] })}
        >
          {t("addSection")}
        </button>
      </fieldset>
      <ErrorText error={error} />
      <div class="row">
        <button type="submit" disabled={busy}>
          {t("save")}
        </button>
        <button type="button" class="secondary" onClick={props.onCancel}>
          {t("cancel")}
        </button>
      </div>
    </form>
  );
}
