{{/*
Expand the name of the chart.
*/}}
{{- define "connect-user-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name (63 characters at most: some Kubernetes name fields
are limited to this). If the release name contains the chart name it is used as the full name.
*/}}
{{- define "connect-user-operator.fullname" -}}
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
Chart name and version as used by the chart label.
*/}}
{{- define "connect-user-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "connect-user-operator.labels" -}}
helm.sh/chart: {{ include "connect-user-operator.chart" . }}
{{ include "connect-user-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "connect-user-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "connect-user-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the ServiceAccount to use.
*/}}
{{- define "connect-user-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "connect-user-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Name of the leader-election Lease (in the release namespace).
*/}}
{{- define "connect-user-operator.leaseName" -}}
{{- include "connect-user-operator.fullname" . }}
{{- end }}

{{/*
What the operator does with the Kubernetes API in the namespaces it watches (a ClusterRole, or
a Role in each watched namespace). Kept free of template logic: tests/deploy.rs parses it and
compares it with the kustomize base.
  - connectusers: watch (list/watch), a fresh read before deciding a deletion or a create (get),
    and finalizer JSON patches.
  - connectusers/status: server-side apply.
  - secrets: get, the initial password named by spec.passwordSecretRef.
  - events.k8s.io events: create, and patch for repeated events.
*/}}
{{- define "connect-user-operator.rules" -}}
- apiGroups: ["connect.userops.dev"]
  resources: ["connectusers"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["connect.userops.dev"]
  resources: ["connectusers/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["connect.userops.dev"]
  resources: ["connectinstances"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["connect.userops.dev"]
  resources: ["connectinstances/status"]
  verbs: ["patch"]
{{- end }}

{{/*
Events alone (the same rule as in "rules"), for a ClusterConnectInstance's Events in `default`
in a watchNamespaces install.
*/}}
{{- define "connect-user-operator.eventRules" -}}
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/*
ClusterConnectInstances, and the namespaces' labels their namespaceSelector is matched against:
cluster-wide installs always; a watchNamespaces install with clusterConnectInstances only
(otherwise it has no cluster-wide rights and serves ConnectInstances only).
*/}}
{{- define "connect-user-operator.clusterRules" -}}
- apiGroups: ["connect.userops.dev"]
  resources: ["clusterconnectinstances"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["connect.userops.dev"]
  resources: ["clusterconnectinstances/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["get"]
{{- end }}

{{/*
Leader election on a coordination.k8s.io Lease in the release namespace (kube-lease-manager:
get, create once, then patch to acquire, renew and release). create cannot be limited by name.
*/}}
{{- define "connect-user-operator.leaseRules" -}}
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["create"]
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  resourceNames: [{{ include "connect-user-operator.leaseName" . | quote }}]
  verbs: ["get", "patch"]
{{- end }}
