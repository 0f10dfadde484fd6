// ESP32 meeting-room microphones: register one (its token is shown once, with the steps that put
// it on the microphone), see which are online (refreshed every 10 s), revoke one.

import { useEffect, useState } from "preact/hooks";
import { api, type Device, type DeviceCreated } from "../api";
import { formatDate, t } from "../i18n";
import { Link } from "../router";
import { ErrorText, useLoad } from "../ui";
import { DeviceSetup, DeviceStatesHelp } from "./device-setup";

export function DevicesPage() {
  const devices = useLoad(() => api<Device[]>("/api/v1/devices/"), []);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<DeviceCreated | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const timer = setInterval(devices.reload, 10_000);
    return () => clearInterval(timer);
  }, [devices.reload]);

  const register = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      setCreated(await api<DeviceCreated>("/api/v1/devices/", { method: "POST", body: { name } }));
      setName("");
      devices.reload();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (device: Device) => {
    if (!confirm(t("confirmRevoke", { name: device.name }))) return;
    try {
      await api(`/api/v1/devices/${device.id}`, { method: "DELETE" });
      devices.reload();
    } catch (err) {
      setError(err);
    }
  };

  const list = devices.data ?? [];
  return (
    <main id="main" tabIndex={-1}>
      <h1>{t("devicesTitle")}</h1>
      <form class="card row wrap" onSubmit={register}>
        <label for="device-name">{t("deviceName")}</label>
        <input id="device-name" class="grow" required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit">{t("registerDevice")}</button>
      </form>
      <ErrorText error={error ?? devices.error} />
      {created && <DeviceSetup device={created} onClose={() => setCreated(null)} />}
      {devices.data && list.length === 0 && <p class="muted">{t("noDevices")}</p>}
      <ul class="device-list">
        {list.map((device) => {
          const state = device.revoked ? "revoked" : device.online ? "online" : "offline";
          return (
            <li key={device.id} class="card" data-device-id={device.id} data-state={state}>
              <div class="page-head">
                <h2 class="h3">{device.name}</h2>
                <span class={`badge device-${state}`}>{t(state)}</span>
              </div>
              <p class="muted small">{device.last_seen_at ? t("lastSeen", { date: formatDate(device.last_seen_at) }) : t("neverSeen")}</p>
              <div class="row wrap">
                {device.current_session_id && (
                  <Link href={`/sessions/${device.current_session_id}`} class="button secondary">
                    {t("currentSession")}
                  </Link>
                )}
                {!device.revoked && (
                  <button type="button" class="danger" onClick={() => revoke(device)}>
                    {t("revoke")}
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ul>
      <DeviceStatesHelp />
    </main>
  );
}
