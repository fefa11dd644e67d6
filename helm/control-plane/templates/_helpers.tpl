{{/*
Chart name, truncated to 63 characters (the limit of a DNS label).
*/}}
{{- define "causeway-cp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name of the release's objects: <release>-<chart>, or the release name alone
when it already contains the chart name.
*/}}
{{- define "causeway-cp.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart label value: name-version.
*/}}
{{- define "causeway-cp.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels: must never change for an installed release.
*/}}
{{- define "causeway-cp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "causeway-cp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "causeway-cp.labels" -}}
helm.sh/chart: {{ include "causeway-cp.chart" . }}
{{ include "causeway-cp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: control-plane
app.kubernetes.io/part-of: causeway
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Service account used by the pods.
*/}}
{{- define "causeway-cp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "causeway-cp.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Secret holding CAUSEWAY_DATABASE_URL, CAUSEWAY_AMQP_URL, CAUSEWAY_ADMIN_TOKEN and
CAUSEWAY_CA_SEAL_KEY: the existing one when given, otherwise the one this chart creates.
*/}}
{{- define "causeway-cp.secretName" -}}
{{- default (include "causeway-cp.fullname" .) .Values.existingSecret }}
{{- end }}

{{/*
Image reference: repository@digest when a digest is given, else repository:tag (tag defaults to
the chart's appVersion).
*/}}
{{- define "causeway-cp.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}
