{{- define "gpu.labels" -}}
app.kubernetes.io/name: ferry-gpu
app.kubernetes.io/component: {{ .Values.mode }}-device-plugin
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "gpu.selector" -}}
app.kubernetes.io/name: ferry-gpu
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gpu.image" -}}
{{- if .digest -}}
{{ .repository }}:{{ .tag }}@{{ .digest }}
{{- else -}}
{{ .repository }}:{{ .tag }}
{{- end -}}
{{- end -}}
