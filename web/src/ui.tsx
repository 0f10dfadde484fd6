// Small shared pieces: error messages, a copy button, a template picker, and a hook that loads data.

import { useCallback, useEffect, useState } from "preact/hooks";
import { api, type Template } from "./api";
import { describeError } from "./errors";
import { t } from "./i18n";

/** An error as a sentence in the UI's language (errors.ts). */
export function message(error: unknown): string {
  return describeError(error);
}

export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {t("errorPrefix", { message: message(error) })}
    </p>
  );
}

/** A page whose data has not come yet. */
export function LoadingPage() {
  return (
    <main id="main" tabIndex={-1}>
      <p>{t("loading")}</p>
    </main>
  );
}

/** Loads data when `deps` change; `reload` fetches again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | null; error: unknown; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (value) => {
        if (live) {
          setData(value);
          setError(null);
        }
      },
      (err: unknown) => {
        if (live) setError(err);
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, reload };
}

export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API refused (no permission, or not a secure context): the old way.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}

export function CopyButton({ text, label }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  const onClick = async () => {
    await copyText(text);
    setDone(true);
    setTimeout(() => setDone(false), 2000);
  };
  return (
    <button type="button" class="secondary" onClick={onClick}>
      {done ? t("copied") : (label ?? t("copy"))}
      <span class="visually-hidden" aria-live="polite">
        {done ? t("copied") : ""}
      </span>
    </button>
  );
}

export function useTemplates(): Template[] {
  const { data } = useLoad(() => api<Template[]>("/api/v1/templates/"), []);
  return data ?? [];
}

export function TemplateSelect(props: { id: string; value: string; onChange: (value: string) => void; templates: Template[] }) {
  return (
    <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
      <option value="">{t("noTemplate")}</option>
      {props.templates.map((template) => (
        <option key={template.id} value={template.id}>
          {template.name}
          {template.language ? ` (${template.language})` : ""}
        </option>
      ))}
    </select>
  );
}

export const LANGUAGES: [string, string][] = [
  ["", "autoDetect"],
  ["en", "English"],
  ["zh", "中文"],
  ["ja", "日本語"],
  ["de", "Deutsch"],
  ["fr", "Français"],
  ["es", "Español"],
];

export function LanguageSelect(props: { id: string; value: string; onChange: (value: string) => void }) {
  return (
    <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
      {LANGUAGES.map(([code, label]) => (
        <option key={code} value={code}>
          {code ? label : t("autoDetect")}
        </option>
      ))}
    </select>
  );
}
