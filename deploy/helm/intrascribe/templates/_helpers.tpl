{{/*
Names, labels and the per-component facts the templates share. A component is one of the six
workloads; what cannot be configured about it (its image, module, port, which secrets it reads)
lives in "intrascribe.components" below, everything else in values.yaml under its own key.
*/}}

{{- define "intrascribe.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "intrascribe.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "intrascribe.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "intrascribe.selectorLabels" -}}
app.kubernetes.io/name: {{ include "intrascribe.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels of the release's objects; pass (dict "root" $ "component" "api"), component may be "". */}}
{{- define "intrascribe.labels" -}}
helm.sh/chart: {{ include "intrascribe.chart" .root }}
app.kubernetes.io/name: {{ include "intrascribe.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: intrascribe
{{- end -}}

{{- define "intrascribe.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "intrascribe.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The fixed facts of each component. image: which of the four images (api_service/Dockerfile etc.);
venv + module: what runs (python -m <module> in /app/<venv>/.venv); hostVar/portVar: the settings
that make it listen (each service's settings.py); secrets: the Secret keys it reads as environment
variables of the same name; serviceKeys: the callers it accepts and its own name, from which its
SERVICE_KEYS JSON is built (shared/service_auth.py; compose gives each service the same ones).
*/}}
{{- define "intrascribe.components" -}}
api:
  image: api
  venv: api_service
  module: api_service
  port: 8000
  hostVar: API_HOST
  portVar: API_PORT
  secrets: [AUTH_JWT_SECRET, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, DATABASE_URL]
  redis: true
  serviceKeys: [agent]
  audio: true
worker:
  image: api
  venv: api_service
  module: api_service.worker
  port: 8003
  hostVar: API_HOST
  portVar: WORKER_HTTP_PORT
  secrets: [AUTH_JWT_SECRET, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, DATABASE_URL]
  redis: true
  serviceKeys: [worker]
  audio: true
agent:
  image: agent
  venv: agent_service
  module: agent_service
  port: 8081
  hostVar: AGENT_HTTP_HOST
  portVar: AGENT_HTTP_PORT
  secrets: [LIVEKIT_API_KEY, LIVEKIT_API_SECRET]
  serviceKeys: [agent]
  redis: true
bridge:
  image: agent
  venv: agent_service
  module: agent_service.bridge
  port: 8004
  hostVar: BRIDGE_HOST
  portVar: BRIDGE_PORT
  secrets: [LIVEKIT_API_KEY, LIVEKIT_API_SECRET]
  serviceKeys: [agent]
stt:
  image: stt
  venv: stt_service
  module: stt_service
  port: 8001
  hostVar: STT_HOST
  portVar: STT_PORT
  secrets: []
  serviceKeys: [agent, worker]
  modelCacheVar: STT_MODEL_CACHE_DIR
  deviceVar: STT_DEVICE
diarization:
  image: diarization
  venv: diarization_service
  module: diarization_service
  port: 8002
  hostVar: DIARIZATION_HOST
  portVar: DIARIZATION_PORT
  secrets: []
  optionalSecrets: [DIARIZATION_HF_TOKEN]
  serviceKeys: [agent, worker]
  modelCacheVar: DIARIZATION_MODEL_CACHE_DIR
  deviceVar: DIARIZATION_DEVICE
{{- end -}}

{{/* The Secret every component reads its credentials from: existingSecret, or the chart's own. */}}
{{- define "intrascribe.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- printf "%s-secrets" (include "intrascribe.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "intrascribe.image" -}}
{{- $image := .root.Values.image -}}
{{- $repo := printf "%s%s/%s" $image.registry $image.repositoryPrefix .image -}}
{{- printf "%s:%s" $repo (default .root.Chart.AppVersion $image.tag) -}}
{{- end -}}

{{/* Required values outside the Secret: a clear message naming the value, rendered nowhere. */}}
{{- define "intrascribe.requireConfig" -}}
{{- $_ := required "livekit.url is required: the LiveKit server the API and agents reach inside the cluster (e.g. ws://livekit-server.livekit.svc.cluster.local:80)" .Values.livekit.url -}}
{{- $_ := required "livekit.publicUrl is required: the LiveKit URL browsers and devices open (wss://livekit.example.com); becomes LIVEKIT_PUBLIC_URL" .Values.livekit.publicUrl -}}
{{- $_ := required "redis.host is required: the managed Redis the API, the worker, the agents and KEDA use (REDIS_URL is built from redis.* and the REDIS_PASSWORD secret key)" .Values.redis.host -}}
{{- if not (has .Values.storage.audio.backend (list "local" "supabase")) -}}
{{- fail (printf "storage.audio.backend must be local or supabase, not %q" .Values.storage.audio.backend) -}}
{{- end -}}
{{- if eq .Values.storage.audio.backend "supabase" -}}
{{- $_ := required "storage.supabase.url is required when storage.audio.backend is supabase (SUPABASE_URL)" .Values.storage.supabase.url -}}
{{- end -}}
{{- if and .Values.keda.enabled (include "intrascribe.usesPrometheus" . | eq "true") -}}
{{- $_ := required "keda.prometheus.serverAddress is required when keda.enabled: the Prometheus the agent, STT and diarization ScaledObjects query (e.g. http://prometheus-operated.monitoring.svc:9090), or set keda.enabled=false for CPU HPAs" .Values.keda.prometheus.serverAddress -}}
{{- end -}}
{{- end -}}

{{- define "intrascribe.usesPrometheus" -}}
{{- $uses := false -}}
{{- range $name := list "agent" "stt" "diarization" -}}
{{- $c := index $.Values $name -}}
{{- if and $c.enabled $c.autoscaling.enabled -}}{{- $uses = true -}}{{- end -}}
{{- end -}}
{{- $uses -}}
{{- end -}}

{{/*
Fail closed: with no existingSecret, every credential must be given, strong and usable where it
is placed (a URL, a JSON string); the services check the same rules again at start-up in
production mode (shared/security.py), which is also what guards an existingSecret.
*/}}
{{- define "intrascribe.requireSecrets" -}}
{{- $s := .Values.secrets -}}
{{- $inline := list "authJwtSecret" "agentServiceKey" "workerServiceKey" "livekitApiKey" "livekitApiSecret" "databaseUrl" "redisPassword" "supabaseServiceKey" "diarizationHfToken" -}}
{{- if $s.existingSecret -}}
{{- range $key := $inline -}}
{{- if index $s $key -}}
{{- fail (printf "secrets.%s is set together with secrets.existingSecret %q: put it in that Secret instead (one source of credentials)" $key $s.existingSecret) -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- $hint := "; or name a Secret holding it in secrets.existingSecret" -}}
{{- $_ := required (printf "secrets.authJwtSecret is required (AUTH_JWT_SECRET: HS256 secret for user tokens, at least 32 random bytes)%s" $hint) $s.authJwtSecret -}}
{{- $_ := required (printf "secrets.agentServiceKey is required (AGENT_SERVICE_KEY: the agent's and bridge's key in SERVICE_KEYS)%s" $hint) $s.agentServiceKey -}}
{{- $_ := required (printf "secrets.workerServiceKey is required (WORKER_SERVICE_KEY: the batch worker's key in SERVICE_KEYS)%s" $hint) $s.workerServiceKey -}}
{{- $_ := required (printf "secrets.livekitApiKey is required (LIVEKIT_API_KEY: a key of the LiveKit server's key pair)%s" $hint) $s.livekitApiKey -}}
{{- $_ := required (printf "secrets.livekitApiSecret is required (LIVEKIT_API_SECRET)%s" $hint) $s.livekitApiSecret -}}
{{- $_ := required (printf "secrets.databaseUrl is required (DATABASE_URL: postgresql+asyncpg://user:password@host:5432/db)%s" $hint) $s.databaseUrl -}}
{{- $_ := required (printf "secrets.redisPassword is required (REDIS_PASSWORD: the managed Redis's password; REDIS_URL is built from it)%s" $hint) $s.redisPassword -}}
{{- if eq .Values.storage.audio.backend "supabase" -}}
{{- $_ := required (printf "secrets.supabaseServiceKey is required when storage.audio.backend is supabase (SUPABASE_SERVICE_KEY)%s" $hint) $s.supabaseServiceKey -}}
{{- end -}}
{{- range $key := list "authJwtSecret" "agentServiceKey" "workerServiceKey" "livekitApiSecret" -}}
{{- if lt (len (index $s $key)) 32 -}}
{{- fail (printf "secrets.%s is %d bytes; use at least 32 random bytes (the services refuse shorter ones in production mode)" $key (len (index $s $key))) -}}
{{- end -}}
{{- end -}}
{{- range $key := list "agentServiceKey" "workerServiceKey" -}}
{{- if not (regexMatch "^[A-Za-z0-9._~+/=-]+$" (index $s $key)) -}}
{{- fail (printf "secrets.%s must use only letters, digits and ._~+/=- (it is placed inside the SERVICE_KEYS JSON)" $key) -}}
{{- end -}}
{{- end -}}
{{- if not (regexMatch "^[A-Za-z0-9._~-]+$" $s.redisPassword) -}}
{{- fail "secrets.redisPassword must use only letters, digits and ._~- (it is placed unescaped in REDIS_URL; `openssl rand -hex 24` makes one)" -}}
{{- end -}}
{{- if has $s.livekitApiKey (list "devkey" "secret" "changeme" "test" "example") -}}
{{- fail (printf "secrets.livekitApiKey %q is a development or placeholder key; create your own key pair for the LiveKit server" $s.livekitApiKey) -}}
{{- end -}}
{{- if not (hasPrefix "postgresql" $s.databaseUrl) -}}
{{- fail "secrets.databaseUrl must be a PostgreSQL URL (postgresql+asyncpg://…): replicas cannot share the embedded SQLite database" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* REDIS_URL from redis.* and $(REDIS_PASSWORD), which Kubernetes expands from the env var defined before it. */}}
{{- define "intrascribe.redisUrl" -}}
{{- $r := .Values.redis -}}
{{- printf "%s://:$(REDIS_PASSWORD)@%s:%d/%d" (ternary "rediss" "redis" $r.tls) $r.host (int $r.port) (int $r.db) -}}
{{- end -}}
