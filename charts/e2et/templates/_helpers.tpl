{{/* Names and labels. */}}
{{- define "e2et.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "e2et.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "e2et.labels" -}}
app.kubernetes.io/name: {{ include "e2et.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
e2et/profile: {{ .Values.profile | quote }}
{{- end -}}

{{/*
Fail early, naming the value, when something the run cannot do without is missing — a Job that
starts and then exits 2 on a missing URL wastes a deploy pipeline's time. Also refuse secrets
written into config: they would land in a ConfigMap in clear text.
*/}}
{{- define "e2et.validate" -}}
{{- $_ := required "profile is required (dev, staging or prod): set it in values-<env>.yaml or --set profile=..." .Values.profile -}}
{{- $_ := required "image.repository is required: the registry path of the image built by scripts/docker-build.sh" .Values.image.repository -}}
{{- $_ := required "secrets.existingSecret is required: the name of a Secret holding the regular user's API key (key secrets.regularApiKeyKey)" .Values.secrets.existingSecret -}}
{{- $_ := required "secrets.regularApiKeyKey is required: the key of the regular API key in secrets.existingSecret" .Values.secrets.regularApiKeyKey -}}
{{- $c := .Values.config | default dict -}}
{{- range $req := list
      (list "tenant" "id" "the dedicated e2et tenant")
      (list "identity" "url" "the Identity v2.0 endpoint")
      (list "regular" "username" "the regular e2et user")
      (list "public_api" "url" "the public API endpoint (.../v1.0/)")
      (list "auth_service" "url" "the auth service endpoint")
      (list "ambassador" "address" "the ambassador host:port")
      (list "kafka" "brokers" "a list of host:port") -}}
{{- $node := index $c (index $req 0) | default dict -}}
{{- if empty (index $node (index $req 1)) -}}
{{- fail (printf "config.%s.%s is required: %s" (index $req 0) (index $req 1) (index $req 2)) -}}
{{- end -}}
{{- end -}}
{{- range $section, $keys := dict "regular" (list "api_key" "password") "admin" (list "api_key" "password") "kafka" (list "sasl_password") -}}
{{- $node := index $c $section | default dict -}}
{{- range $keys -}}
{{- if hasKey $node . -}}
{{- fail (printf "config.%s.%s is a secret and must not be a value: put it in secrets.existingSecret (see secrets.*Key)" $section .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if not (has .Values.job.ttlSecondsAfterFinished (list nil)) -}}
{{- if lt (int .Values.job.ttlSecondsAfterFinished) 0 -}}
{{- fail "job.ttlSecondsAfterFinished must be >= 0 (or null to keep finished Jobs)" -}}
{{- end -}}
{{- end -}}
{{- $_ := required "job.activeDeadlineSeconds is required: a run must not hang forever" .Values.job.activeDeadlineSeconds -}}
{{- end -}}

{{/* The profile file the container loads through E2ET_CONFIG: config + the profile name. */}}
{{- define "e2et.profileYaml" -}}
{{- $c := deepCopy (.Values.config | default dict) -}}
{{- $_ := set $c "profile" .Values.profile -}}
{{- toYaml $c -}}
{{- end -}}

{{/*
Job spec shared by the Job, the helm-test Job and the CronJob's jobTemplate: one attempt
(backoffLimit 0 — a retried acceptance run hides flakiness and doubles what it creates),
a hard deadline, and optional garbage collection of finished Jobs.
*/}}
{{- define "e2et.jobSpec" -}}
backoffLimit: 0
activeDeadlineSeconds: {{ int .Values.job.activeDeadlineSeconds }}
{{- if not (has .Values.job.ttlSecondsAfterFinished (list nil)) }}
ttlSecondsAfterFinished: {{ int .Values.job.ttlSecondsAfterFinished }}
{{- end }}
template:
  metadata:
    labels:
      {{- include "e2et.labels" . | nindent 6 }}
    annotations:
      checksum/profile: {{ include "e2et.profileYaml" . | sha256sum }}
      {{- with .Values.podAnnotations }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
  spec:
    restartPolicy: Never
    {{- with .Values.serviceAccountName }}
    serviceAccountName: {{ . }}
    {{- end }}
    automountServiceAccountToken: false
    {{- with .Values.imagePullSecrets }}
    imagePullSecrets:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    securityContext:
      {{- toYaml .Values.podSecurityContext | nindent 6 }}
    containers:
      - name: e2et
        image: {{ printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) | quote }}
        imagePullPolicy: {{ .Values.image.pullPolicy }}
        args:
          - run
          - --profile
          - {{ .Values.profile | quote }}
          - --reports
          - /results
          {{- range .Values.tags }}
          - --tags
          - {{ . | quote }}
          {{- end }}
          {{- if .Values.behaveArgs }}
          - --
          {{- range .Values.behaveArgs }}
          - {{ . | quote }}
          {{- end }}
          {{- end }}
        env:
          - name: E2ET_PROFILE
            value: {{ .Values.profile | quote }}
          - name: E2ET_CONFIG
            value: /etc/e2et/profile/profile.yaml
          - name: HOME
            value: /tmp
          - name: E2ET_REGULAR_API_KEY
            valueFrom:
              secretKeyRef:
                name: {{ .Values.secrets.existingSecret }}
                key: {{ .Values.secrets.regularApiKeyKey }}
          {{- range $env, $key := dict "E2ET_ADMIN_API_KEY" .Values.secrets.adminApiKeyKey "E2ET_ADMIN_PASSWORD" .Values.secrets.adminPasswordKey "E2ET_KAFKA__SASL_PASSWORD" .Values.secrets.kafkaSaslPasswordKey }}
          {{- if $key }}
          - name: {{ $env }}
            valueFrom:
              secretKeyRef:
                name: {{ $.Values.secrets.existingSecret }}
                key: {{ $key }}
                optional: true
          {{- end }}
          {{- end }}
          {{- with .Values.extraEnv }}
          {{- toYaml . | nindent 10 }}
          {{- end }}
        securityContext:
          {{- toYaml .Values.securityContext | nindent 10 }}
        resources:
          {{- toYaml .Values.resources | nindent 10 }}
        volumeMounts:
          - name: profile
            mountPath: /etc/e2et/profile
            readOnly: true
          - name: results
            mountPath: /results
          - name: tmp
            mountPath: /tmp
          {{- if .Values.secrets.kafkaTls.existingSecret }}
          - name: kafka-tls
            mountPath: {{ .Values.secrets.kafkaTls.mountPath }}
            readOnly: true
          {{- end }}
    volumes:
      - name: profile
        configMap:
          name: {{ include "e2et.fullname" . }}-profile
      - name: results
        {{- if .Values.results.persistence.enabled }}
        persistentVolumeClaim:
          claimName: {{ .Values.results.persistence.existingClaim | default (printf "%s-results" (include "e2et.fullname" .)) }}
        {{- else }}
        emptyDir: {}
        {{- end }}
      - name: tmp
        emptyDir: {}
      {{- if .Values.secrets.kafkaTls.existingSecret }}
      - name: kafka-tls
        secret:
          secretName: {{ .Values.secrets.kafkaTls.existingSecret }}
          defaultMode: 0440
      {{- end }}
    {{- with .Values.nodeSelector }}
    nodeSelector:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .Values.tolerations }}
    tolerations:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .Values.affinity }}
    affinity:
      {{- toYaml . | nindent 6 }}
    {{- end }}
{{- end -}}
