// What to do after registering a room microphone: the serial-console commands with this
// server's address and the new token filled in (and the Wi-Fi typed here, never sent anywhere),
// or a settings file for flashing many; and what "online" means in the list.

import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api, type DeviceCreated, type WebConfig } from "../api";
import { t } from "../i18n";
import { CopyButton, useLoad } from "../ui";

/** The bridge URL microphones connect to: the server's setting, else this host's /v1/device. */
export function bridgeUrl(configured: string | null | undefined): string {
  if (configured) return configured;
  // Behind the TLS proxy the bridge shares the host; `make run` serves it on port 8004.
  return location.protocol === "https:" ? `wss://${location.host}/v1/device` : `ws://${location.hostname}:8004/v1/device`;
}

/** A translated sentence whose {name} places hold commands or prompts, shown as code. */
function withCode(text: string, code: Record<string, string>): ComponentChildren[] {
  return text.split(/\{(\w+)\}/).map((part, i) => (i % 2 ? <code key={i}>{code[part] ?? part}</code> : part));
}

/** One argument as the firmware's console splits them: in double quotes, \ and " escaped. */
function quoted(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function consoleCommands(wifiName: string, wifiPassword: string, bridge: string, token: string): string {
  const wifi = `wifi ${quoted(wifiName || t("setupWifiNamePlaceholder"))}${wifiPassword ? ` ${quoted(wifiPassword)}` : ""}`;
  return [wifi, `bridge ${bridge}`, `token ${token}`, "restart"].join("\n");
}

/** The firmware's settings as the flashing tool's CSV (namespace "intrascribe"; see firmware/provisioning). */
function settingsCsv(wifiName: string, wifiPassword: string, bridge: string, token: string): string {
  const cell = (value: string) => (/[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
  return [
    "key,type,encoding,value",
    "intrascribe,namespace,,",
    `wifi_ssid,data,string,${cell(wifiName)}`,
    `wifi_pass,data,string,${cell(wifiPassword)}`,
    `bridge_url,data,string,${cell(bridge)}`,
    `token,data,string,${cell(token)}`,
    "",
  ].join("\n");
}

function fileName(name: string): string {
  return `${name.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-|-$/g, "") || "device"}-settings.csv`;
}

function saveFile(text: string, name: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function DeviceSetup({ device, onClose }: { device: DeviceCreated; onClose: () => void }) {
  const config = useLoad(() => api<WebConfig>("/api/v1/config"), []);
  const [wifiName, setWifiName] = useState("");
  const [wifiPassword, setWifiPassword] = useState("");
  const bridge = bridgeUrl(config.data?.device_bridge_url);
  const commands = consoleCommands(wifiName, wifiPassword, bridge, device.token);
  const csvName = fileName(device.name);

  return (
    <section class="card device-setup" aria-labelledby="setup-heading">
      <h2 id="setup-heading">{t("setupTitle", { name: device.name })}</h2>
      <p>{t("tokenOnce")}</p>
      <label for="device-token" class="small muted">
        {t("deviceToken", { name: device.name })}
      </label>
      <div class="row">
        <input id="device-token" class="grow" readOnly value={device.token} onFocus={(e) => e.currentTarget.select()} />
        <CopyButton text={device.token} />
      </div>

      <h3>{t("setupConsoleHeading")}</h3>
      <ol class="setup-steps">
        <li>{withCode(t("setupStepConnect"), { monitor: "idf.py monitor", prompt: "mic>" })}</li>
        <li>
          {t("setupStepWifi")}
          <div class="row wrap setup-wifi">
            <label>
              <span class="small muted block">{t("setupWifiName")}</span>
              <input value={wifiName} maxLength={32} autoComplete="off" onInput={(e) => setWifiName(e.currentTarget.value)} />
            </label>
            <label>
              <span class="small muted block">{t("setupWifiPassword")}</span>
              <input
                type="password"
                value={wifiPassword}
                maxLength={64}
                autoComplete="off"
                onInput={(e) => setWifiPassword(e.currentTarget.value)}
              />
            </label>
          </div>
          <p class="small muted">{t("setupWifiStaysHere")}</p>
        </li>
        <li>
          {withCode(t("setupStepType"), { prompt: "mic>" })}
          <pre class="commands" aria-label={t("setupCommands")} tabIndex={0}>
            <code>{commands}</code>
          </pre>
          <CopyButton text={commands} label={t("setupCopyCommands")} />
        </li>
        <li>{t("setupStepLight")}</li>
      </ol>

      <h3>{t("setupManyHeading")}</h3>
      <p>{t("setupManyText")}</p>
      <button type="button" class="secondary" onClick={() => saveFile(settingsCsv(wifiName, wifiPassword, bridge, device.token), csvName)}>
        {t("setupDownload")}
      </button>
      <pre class="commands small" tabIndex={0} aria-label={t("setupFlashCommands")}>
        <code>
          {`python $IDF_PATH/components/nvs_flash/nvs_partition_generator/nvs_partition_gen.py generate ${csvName} settings.bin 0x6000\n`}
          {"parttool.py -p PORT write_partition --partition-name nvs --input settings.bin"}
        </code>
      </pre>
      <p class="small muted">{withCode(t("setupFirmwareDocs"), { readme: "firmware/README.md" })}</p>
      <button type="button" class="secondary" onClick={onClose}>
        {t("setupDone")}
      </button>
    </section>
  );
}

/** What the states in the list mean, in plain words. */
export function DeviceStatesHelp() {
  return (
    <details class="device-help">
      <summary>{t("statesHelpSummary")}</summary>
      <dl>
        <dt>{t("online")}</dt>
        <dd>{t("statesOnline")}</dd>
        <dt>{t("offline")}</dt>
        <dd>{t("statesOffline")}</dd>
        <dt>{t("revoked")}</dt>
        <dd>{t("statesRevoked")}</dd>
      </dl>
    </details>
  );
}
