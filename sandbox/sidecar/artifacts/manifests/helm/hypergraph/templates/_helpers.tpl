{{- define "hypergraph.name" -}}hypergraph{{- end -}}

{{- define "hypergraph.fullname" -}}
{{- printf "%s-%s" .Release.Name (include "hypergraph.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "hypergraph.labels" -}}
app.kubernetes.io/name: {{ include "hypergraph.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.global.appVersion | quote }}
{{- end -}}
