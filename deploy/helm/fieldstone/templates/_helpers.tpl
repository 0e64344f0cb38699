{{/* Names ---------------------------------------------------------------------------------------- */}}

{{- define "fieldstone.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "fieldstone.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of a component's objects: (dict "root" $ "name" "gateway") */}}
{{- define "fieldstone.componentName" -}}
{{- printf "%s-%s" (include "fieldstone.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The headless Service of a component's gRPC port: its DNS name lists every ready pod, so
     callers balance their calls over all replicas (round robin in libs/grpc). */}}
{{- define "fieldstone.grpcServiceName" -}}
{{- printf "%s-grpc" (include "fieldstone.componentName" . | trunc 58 | trimSuffix "-") -}}
{{- end -}}

{{/* Labels ---------------------------------------------------------------------------------------- */}}

{{- define "fieldstone.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "fieldstone.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: fieldstone
{{- end -}}

{{/* Selects every pod of the release (components, migrations, dev infrastructure). */}}
{{- define "fieldstone.releaseSelector" -}}
app.kubernetes.io/name: {{ include "fieldstone.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* (dict "root" $ "name" "gateway") */}}
{{- define "fieldstone.selectorLabels" -}}
{{ include "fieldstone.releaseSelector" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "fieldstone.componentLabels" -}}
{{ include "fieldstone.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Values -------------------------------------------------------------------------------------- */}}

{{/*
Deep-merges .src into .dst in place: maps merge key by key, anything else replaces. Unlike sprig's
merge/mergeOverwrite it keeps an explicit false, 0 or "" from .src.
*/}}
{{- define "fieldstone.mergeInto" -}}
{{- $dst := .dst -}}
{{- range $key, $value := .src -}}
{{- if and (kindIs "map" $value) (kindIs "map" (get $dst $key)) -}}
{{- include "fieldstone.mergeInto" (dict "dst" (get $dst $key) "src" $value) -}}
{{- else -}}
{{- $_ := set $dst $key $value -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The settings of one component (`default` merged with `components.<name>`), stored as .out.c:
  {{- $o := dict }}{{- include "fieldstone.component" (dict "root" $ "name" $name "out" $o) }}
*/}}
{{- define "fieldstone.component" -}}
{{- $c := deepCopy .root.Values.default -}}
{{- include "fieldstone.mergeInto" (dict "dst" $c "src" (deepCopy (index .root.Values.components .name))) -}}
{{- $_ := set $c "name" .name -}}
{{- $_ := set .out "c" $c -}}
{{- end -}}

{{/* Sorted names of the enabled components. Output: a comma-separated list. */}}
{{- define "fieldstone.enabledComponents" -}}
{{- $names := list -}}
{{- range $name, $comp := .Values.components -}}
{{- if $comp.enabled -}}{{- $names = append $names $name -}}{{- end -}}
{{- end -}}
{{- join "," (sortAlpha $names) -}}
{{- end -}}

{{- define "fieldstone.envPrefix" -}}
{{- upper . -}}
{{- end -}}

{{/* The port a component serves on (its gRPC port, or the gateway's HTTP port). (dict "c" $c) */}}
{{- define "fieldstone.servingPort" -}}
{{- if hasKey .c.ports "grpc" -}}{{ .c.ports.grpc }}{{- else -}}{{ .c.ports.http }}{{- end -}}
{{- end -}}

{{/* The port Prometheus scrapes: a gRPC service's metrics port, or the gateway's HTTP port. (dict "c" $c) */}}
{{- define "fieldstone.metricsPort" -}}
{{- if hasKey .c.ports "metrics" -}}{{ .c.ports.metrics }}{{- else -}}{{ .c.ports.http }}{{- end -}}
{{- end -}}

{{- define "fieldstone.image" -}}
{{- $root := .root -}}
{{- $image := .c.image | default dict -}}
{{- $repository := $image.repository | default (printf "%s/fieldstone-%s" $root.Values.image.registry .c.name) -}}
{{- $tag := $image.tag | default $root.Values.image.tag | default $root.Chart.AppVersion -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Infrastructure endpoints --------------------------------------------------------------------- */}}

{{- define "fieldstone.kafkaBootstrap" -}}
{{- if .Values.devInfrastructure.enabled -}}
{{- printf "%s-kafka.%s.svc:9092" (include "fieldstone.fullname" .) .Release.Namespace -}}
{{- else -}}
{{- required "kafka.bootstrapServers is required (or set devInfrastructure.enabled=true)" .Values.kafka.bootstrapServers -}}
{{- end -}}
{{- end -}}

{{/* Where the Kafka CA Secret (kafka.tls.caSecret) is mounted, and the file in it. */}}
{{- define "fieldstone.kafkaCaDir" -}}/etc/fieldstone/kafka-ca{{- end -}}
{{- define "fieldstone.kafkaCaFile" -}}{{ include "fieldstone.kafkaCaDir" . }}/ca.crt{{- end -}}

{{- define "fieldstone.kafkaSasl" -}}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol -}}true{{- end -}}
{{- end -}}

{{- define "fieldstone.kafkaTls" -}}
{{- if has .Values.kafka.securityProtocol (list "SSL" "SASL_SSL") -}}true{{- end -}}
{{- end -}}

{{/*
Refuses kafka.* security settings that cannot work: SASL without credentials, SASL or TLS settings the
chosen protocol would ignore, anything but PLAINTEXT against the in-chart development Kafka. Renders nothing.
*/}}
{{- define "fieldstone.kafkaValidate" -}}
{{- $k := .Values.kafka -}}
{{- $protocol := $k.securityProtocol -}}
{{- if and .Values.devInfrastructure.enabled (ne $protocol "PLAINTEXT") -}}
{{- fail (printf "kafka.securityProtocol=%s needs an external Kafka: the in-chart development Kafka (devInfrastructure.enabled=true) speaks PLAINTEXT only" $protocol) -}}
{{- end -}}
{{- if include "fieldstone.kafkaSasl" . -}}
{{- if not (and $k.sasl.username $k.sasl.existingSecret) -}}
{{- fail (printf "kafka.securityProtocol=%s needs kafka.sasl.username and kafka.sasl.existingSecret (a Secret holding the password under kafka.sasl.existingSecretKey)" $protocol) -}}
{{- end -}}
{{- else if or $k.sasl.username $k.sasl.existingSecret -}}
{{- fail (printf "kafka.sasl is set but kafka.securityProtocol=%s does not use SASL: choose SASL_SSL or SASL_PLAINTEXT" $protocol) -}}
{{- end -}}
{{- if and $k.tls.caSecret (not (include "fieldstone.kafkaTls" .)) -}}
{{- fail (printf "kafka.tls.caSecret is set but kafka.securityProtocol=%s does not use TLS: choose SSL or SASL_SSL" $protocol) -}}
{{- end -}}
{{- end -}}

{{- define "fieldstone.s3Endpoint" -}}
{{- if .Values.devInfrastructure.enabled -}}
{{- printf "%s-minio.%s.svc:9000" (include "fieldstone.fullname" .) .Release.Namespace -}}
{{- else -}}
{{- required "objectStorage.endpoint is required (or set devInfrastructure.enabled=true)" .Values.objectStorage.endpoint -}}
{{- end -}}
{{- end -}}

{{- define "fieldstone.s3Secure" -}}
{{- if .Values.devInfrastructure.enabled -}}false{{- else -}}{{ .Values.objectStorage.secure }}{{- end -}}
{{- end -}}

{{- define "fieldstone.s3PublicUrl" -}}
{{- if .Values.objectStorage.publicUrl -}}
{{- .Values.objectStorage.publicUrl -}}
{{- else if .Values.devInfrastructure.enabled -}}
http://localhost:9000
{{- end -}}
{{- end -}}

{{- define "fieldstone.publicUrl" -}}
{{- if .Values.publicUrl -}}
{{- .Values.publicUrl -}}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts -}}
{{- printf "https://%s" (first .Values.ingress.hosts).host -}}
{{- else -}}
{{- printf "http://%s-gateway.%s.svc" (include "fieldstone.fullname" .) .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* Secrets ------------------------------------------------------------------------------------- */}}

{{/* The Secret the chart writes values into; the migrations hook has a copy of its own. */}}
{{- define "fieldstone.secretName" -}}
{{- include "fieldstone.fullname" . -}}
{{- end -}}

{{- define "fieldstone.hookSecretName" -}}
{{- printf "%s-migrations" (include "fieldstone.fullname" .) -}}
{{- end -}}

{{- define "fieldstone.databaseUrl" -}}
{{- $root := .root -}}
{{- $db := index $root.Values.postgres.databases .name -}}
{{- if $root.Values.devInfrastructure.enabled -}}
{{- printf "postgresql://postgres:%s@%s-postgres.%s.svc:5432/%s" (urlquery $root.Values.devInfrastructure.postgres.password) (include "fieldstone.fullname" $root) $root.Release.Namespace $db.name -}}
{{- else -}}
{{- $host := required (printf "postgres.host is required to build the database URL of %s (or set postgres.databases.%s.existingSecret)" .name .name) $root.Values.postgres.host -}}
{{- $password := required (printf "postgres.password is required to build the database URL of %s (or set postgres.databases.%s.existingSecret)" .name .name) $root.Values.postgres.password -}}
{{- printf "postgresql://%s:%s@%s:%v/%s?sslmode=%s" (urlquery $root.Values.postgres.username) (urlquery $password) $host $root.Values.postgres.port $db.name $root.Values.postgres.sslmode -}}
{{- end -}}
{{- end -}}

{{/*
Every secret value the chart writes itself (those without an existingSecret), as a YAML map of
key → plain value. Used for both the chart's Secret and the migrations hook Secret.
*/}}
{{- define "fieldstone.secretData" -}}
{{- $root := . -}}
{{- $dev := .Values.devInfrastructure.enabled -}}
{{- range $name := splitList "," (include "fieldstone.enabledComponents" $root) }}
{{- if not (index $root.Values.postgres.databases $name).existingSecret }}
{{ $name }}-database-url: {{ include "fieldstone.databaseUrl" (dict "root" $root "name" $name) | quote }}
{{- end }}
{{- end }}
{{- if not .Values.objectStorage.existingSecret }}
{{- if $dev }}
s3-access-key: {{ .Values.devInfrastructure.minio.rootUser | quote }}
s3-secret-key: {{ .Values.devInfrastructure.minio.rootPassword | quote }}
{{- else }}
s3-access-key: {{ required "objectStorage.accessKey is required (or set objectStorage.existingSecret)" .Values.objectStorage.accessKey | quote }}
s3-secret-key: {{ required "objectStorage.secretKey is required (or set objectStorage.existingSecret)" .Values.objectStorage.secretKey | quote }}
{{- end }}
{{- end }}
{{- if not .Values.webhookSecretsEncryption.existingSecret }}
{{- $key := .Values.webhookSecretsEncryption.key }}
{{- if and $dev (not $key) }}{{ $key = .Values.devInfrastructure.webhooksEncryptionKey }}{{ end }}
webhooks-encryption-key: {{ required "webhookSecretsEncryption.key is required (or set webhookSecretsEncryption.existingSecret)" $key | quote }}
{{- end }}
{{- if $dev }}
dev-postgres-password: {{ .Values.devInfrastructure.postgres.password | quote }}
dev-minio-root-user: {{ .Values.devInfrastructure.minio.rootUser | quote }}
dev-minio-root-password: {{ .Values.devInfrastructure.minio.rootPassword | quote }}
{{- end }}
{{- end -}}

{{/* A secretKeyRef body. (dict "name" ... "key" ...) */}}
{{- define "fieldstone.secretKeyRef" -}}
valueFrom:
  secretKeyRef:
    name: {{ .name }}
    key: {{ .key }}
{{- end -}}

{{/* Environment ---------------------------------------------------------------------------------- */}}

{{/*
The non-secret environment of a component, as a YAML map of strings sorted by name (a ConfigMap's data,
or inline in the migrations Job); `env` overrides what the chart derives. (dict "root" $ "c" $c), plus
"migrationsJob" true for the migrations Job, which never connects to Kafka (its NetworkPolicy allows
Postgres only): it gets the bootstrap servers (a required setting) but no Kafka security settings.
*/}}
{{- define "fieldstone.configEnv" -}}
{{- $root := .root -}}
{{- $c := .c -}}
{{- $p := include "fieldstone.envPrefix" $c.name -}}
{{- $env := dict -}}
{{- $_ := set $env (printf "%s_KAFKA_BOOTSTRAP" $p) (include "fieldstone.kafkaBootstrap" $root) -}}
{{- include "fieldstone.kafkaValidate" $root -}}
{{- if not .migrationsJob -}}
{{- $k := $root.Values.kafka -}}
{{- $_ := set $env (printf "%s_KAFKA_SECURITY_PROTOCOL" $p) $k.securityProtocol -}}
{{- $_ := set $env (printf "%s_KAFKA_TOPIC_REPLICAS" $p) (toString $k.topicReplicas) -}}
{{- if include "fieldstone.kafkaSasl" $root -}}
{{- $_ := set $env (printf "%s_KAFKA_SASL_MECHANISM" $p) $k.sasl.mechanism -}}
{{- $_ := set $env (printf "%s_KAFKA_SASL_USERNAME" $p) $k.sasl.username -}}
{{- end -}}
{{- if $k.tls.caSecret -}}
{{- $_ := set $env (printf "%s_KAFKA_SSL_CAFILE" $p) (include "fieldstone.kafkaCaFile" $root) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $env (printf "%s_GROUP_PREFIX" $p) $root.Values.kafka.groupPrefix -}}
{{- $_ := set $env (printf "%s_LOG_LEVEL" $p) $c.logLevel -}}
{{- $_ := set $env (printf "%s_MIGRATE_ON_START" $p) (ternary "false" "true" $root.Values.migrations.job.enabled) -}}
{{- if hasKey $c.ports "grpc" -}}
{{- $_ := set $env (printf "%s_GRPC_HOST" $p) "0.0.0.0" -}}
{{- $_ := set $env (printf "%s_GRPC_PORT" $p) (toString $c.ports.grpc) -}}
{{- end -}}
{{- if and (hasKey $c.ports "metrics") (hasKey $c.ports "grpc") -}}
{{- $_ := set $env (printf "%s_METRICS_HOST" $p) "0.0.0.0" -}}
{{- $_ := set $env (printf "%s_METRICS_PORT" $p) (toString $c.ports.metrics) -}}
{{- end -}}
{{- if hasKey $c.ports "http" -}}
{{- $_ := set $env (printf "%s_HTTP_HOST" $p) "0.0.0.0" -}}
{{- $_ := set $env (printf "%s_HTTP_PORT" $p) (toString $c.ports.http) -}}
{{- end -}}
{{- range $callee := $c.calls -}}
{{- $o := dict -}}
{{- $_ := include "fieldstone.component" (dict "root" $root "name" $callee "out" $o) -}}
{{- $target := printf "dns:///%s.%s.svc:%v" (include "fieldstone.grpcServiceName" (dict "root" $root "name" $callee)) $root.Release.Namespace $o.c.ports.grpc -}}
{{- $_ := set $env (printf "%s_%s_GRPC_TARGET" $p (upper $callee)) $target -}}
{{- end -}}
{{- if $c.objectStorage -}}
{{- $_ := set $env (printf "%s_S3_ENDPOINT" $p) (include "fieldstone.s3Endpoint" $root) -}}
{{- $_ := set $env (printf "%s_S3_SECURE" $p) (include "fieldstone.s3Secure" $root) -}}
{{- end -}}
{{- if eq $c.name "files" -}}
{{- $_ := set $env "FILES_BUCKET" $root.Values.objectStorage.bucket -}}
{{- $_ := set $env "FILES_NOTIFY_QUEUE_ARN" $root.Values.objectStorage.notifyQueueArn -}}
{{- with include "fieldstone.s3PublicUrl" $root -}}
{{- $_ := set $env "FILES_S3_PUBLIC_URL" . -}}
{{- end -}}
{{- end -}}
{{- if eq $c.name "webhooks" -}}
{{- $_ := set $env "WEBHOOKS_PUBLIC_API_URL" (include "fieldstone.publicUrl" $root) -}}
{{- end -}}
{{- with $root.Values.observability.otlpEndpoint -}}
{{- $_ := set $env "OTEL_EXPORTER_OTLP_ENDPOINT" . -}}
{{- end -}}
{{- /* The component's own env comes last, so it can override anything above. */ -}}
{{- range $key, $value := $c.env -}}
{{- $_ := set $env $key (toString $value) -}}
{{- end -}}
{{- range $key := keys $env | sortAlpha }}
{{ $key }}: {{ index $env $key | quote }}
{{- end }}
{{- end -}}

{{/*
The secret environment of a component: EnvVar entries with secretKeyRef, either to the operator's
existing Secrets or to .secretName (the chart's Secret, or the hook copy). (dict "root" $ "c" $c "secretName" ...),
plus "migrationsJob" true for the migrations Job (no Kafka password: see fieldstone.configEnv).
*/}}
{{- define "fieldstone.secretEnv" -}}
{{- $root := .root -}}
{{- $c := .c -}}
{{- $p := include "fieldstone.envPrefix" $c.name -}}
{{- $db := index $root.Values.postgres.databases $c.name -}}
- name: {{ $p }}_DATABASE_URL
  {{- if $db.existingSecret }}
  {{- include "fieldstone.secretKeyRef" (dict "name" $db.existingSecret "key" $db.existingSecretKey) | nindent 2 }}
  {{- else }}
  {{- include "fieldstone.secretKeyRef" (dict "name" .secretName "key" (printf "%s-database-url" $c.name)) | nindent 2 }}
  {{- end }}
{{- if $c.objectStorage }}
{{- $s3 := $root.Values.objectStorage }}
- name: {{ $p }}_S3_ACCESS_KEY
  {{- include "fieldstone.secretKeyRef" (dict "name" ($s3.existingSecret | default .secretName) "key" (ternary $s3.existingSecretAccessKeyKey "s3-access-key" (ne $s3.existingSecret ""))) | nindent 2 }}
- name: {{ $p }}_S3_SECRET_KEY
  {{- include "fieldstone.secretKeyRef" (dict "name" ($s3.existingSecret | default .secretName) "key" (ternary $s3.existingSecretSecretKeyKey "s3-secret-key" (ne $s3.existingSecret ""))) | nindent 2 }}
{{- end }}
{{- if and (not .migrationsJob) (include "fieldstone.kafkaSasl" $root) }}
{{- $sasl := $root.Values.kafka.sasl }}
- name: {{ $p }}_KAFKA_SASL_PASSWORD
  {{- include "fieldstone.secretKeyRef" (dict "name" $sasl.existingSecret "key" $sasl.existingSecretKey) | nindent 2 }}
{{- end }}
{{- if eq $c.name "webhooks" }}
{{- $w := $root.Values.webhookSecretsEncryption }}
- name: WEBHOOKS_SECRET_KEY
  {{- include "fieldstone.secretKeyRef" (dict "name" ($w.existingSecret | default .secretName) "key" (ternary $w.existingSecretKey "webhooks-encryption-key" (ne $w.existingSecret ""))) | nindent 2 }}
{{- end }}
{{- end -}}
