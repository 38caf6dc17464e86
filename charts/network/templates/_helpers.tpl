{{- define "network.labels" -}}
app.kubernetes.io/name: ferry-node-agent
app.kubernetes.io/component: network
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "network.selector" -}}
app.kubernetes.io/name: ferry-node-agent
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "network.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}
{{- end -}}
