{{- define "skyq.fullname" -}}
{{- printf "%s-skyq" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "skyq.labels" -}}
app.kubernetes.io/name: skyq
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "skyq.selector" -}}
app.kubernetes.io/name: skyq
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "skyq.image" -}}
{{ printf "%s:%s-%s" .root.Values.image.repository .root.Values.image.tag .target }}
{{- end -}}

{{- define "skyq.secretName" -}}
{{- default (include "skyq.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* Every pod reads the settings from the ConfigMap and the credentials from the Secret. */}}
{{- define "skyq.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "skyq.fullname" . }}
  - secretRef:
      name: {{ include "skyq.secretName" . }}
{{- end -}}

{{- define "skyq.podDefaults" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
