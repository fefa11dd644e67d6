{{/*
Chart name, truncated to 63 characters (the limit of a DNS label).
*/}}
{{- define "causeway-node.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name of the release's objects: <release>-<chart>, or the release name alone
when it already contains the chart name.
*/}}
{{- define "causeway-node.fullname" -}}
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
{{- define "causeway-node.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels: must never change for an installed release.
*/}}
{{- define "causeway-node.selectorLabels" -}}
app.kubernetes.io/name: {{ include "causeway-node.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "causeway-node.labels" -}}
helm.sh/chart: {{ include "causeway-node.chart" . }}
{{ include "causeway-node.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: node
app.kubernetes.io/part-of: causeway
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Service account used by the pods.
*/}}
{{- define "causeway-node.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "causeway-node.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The node's state directory (CAUSEWAY_STATE_DIR), checked to lie below the volume's mount path:
enrolment creates it and sets its mode, which it can do in a subdirectory of the volume it owns,
but not on the volume's root (owned by root; fsGroup only sets its group).
*/}}
{{- define "causeway-node.stateDir" -}}
{{- $mount := trimSuffix "/" .Values.persistence.mountPath }}
{{- if not (hasPrefix (printf "%s/" $mount) .Values.config.stateDir) }}
{{- fail (printf "config.stateDir (%s) must be a subdirectory of persistence.mountPath (%s)" .Values.config.stateDir .Values.persistence.mountPath) }}
{{- end }}
{{- .Values.config.stateDir }}
{{- end }}

{{/*
The state volume's claim: the existing one when given, otherwise the one this chart creates.
*/}}
{{- define "causeway-node.claimName" -}}
{{- .Values.persistence.existingClaim | default (printf "%s-state" (include "causeway-node.fullname" .)) }}
{{- end }}

{{/*
Image reference: repository@digest when a digest is given, else repository:tag (tag defaults to
the chart's appVersion).
*/}}
{{- define "causeway-node.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}
