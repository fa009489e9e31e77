// helm_render renders a Helm chart the way Helm 3 does (`helm template` / `helm install
// --dry-run`), with no helm binary: Go's text/template with Masterminds sprig and Helm's own
// functions and rules (pkg/engine, pkg/chartutil, pkg/releaseutil):
//
//   - every file under templates/ is parsed into one template set, named
//     "<chart>/templates/<file>"; files whose name starts with "_" are parsed but not rendered;
//   - missingkey=zero, and "<no value>" removed from the output;
//   - sprig's text functions without env and expandenv, plus include, tpl, required, toYaml,
//     fromYaml, fromYamlArray, toJson, fromJson, fromJsonArray and lookup (an empty map, as
//     without a cluster);
//   - .Values: values.yaml coalesced with the given values files (later files win; maps merge
//     deeply; a null removes a default), .Release, .Chart (Chart.yaml), .Capabilities, .Template;
//   - .Files: the chart's other files (not templates/, charts/, Chart.yaml, values.yaml or
//     values.schema.json, as Helm's chart loader sorts them), with Get and GetBytes;
//   - Chart.yaml's kubeVersion is checked against .Capabilities.KubeVersion;
//   - NOTES.txt is rendered (its errors fail the render) and reported apart from the manifests;
//   - crds/ files are passed through untemplated, as Helm installs them;
//   - each rendered file is split into YAML documents; empty ones are dropped, every other one
//     must parse and carry apiVersion and kind ("helm template" fails otherwise).
//
// Output (stdout): JSON {"values": {...}, "crds": [...], "manifests": [...], "notes": "..."}, each manifest
// {"source": "<chart>/templates/x.yaml", "content": "<yaml>"}, in Helm's install order.
// Errors: on stderr, exit status 1.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/semver"
	"github.com/Masterminds/sprig"
	"sigs.k8s.io/yaml"
)

// Metadata is Chart.yaml as Helm's chart.Metadata presents it to templates (.Chart.Name ...):
// a struct, so a misspelt field is a template error, as with Helm.
type Metadata struct {
	Name         string            `json:"name"`
	Home         string            `json:"home,omitempty"`
	Sources      []string          `json:"sources,omitempty"`
	Version      string            `json:"version"`
	Description  string            `json:"description,omitempty"`
	Keywords     []string          `json:"keywords,omitempty"`
	Maintainers  []interface{}     `json:"maintainers,omitempty"`
	Icon         string            `json:"icon,omitempty"`
	APIVersion   string            `json:"apiVersion"`
	Condition    string            `json:"condition,omitempty"`
	Tags         string            `json:"tags,omitempty"`
	AppVersion   string            `json:"appVersion,omitempty"`
	Deprecated   bool              `json:"deprecated,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	KubeVersion  string            `json:"kubeVersion,omitempty"`
	Dependencies []interface{}     `json:"dependencies,omitempty"`
	Type         string            `json:"type,omitempty"`
}

type Release struct {
	Name      string
	Namespace string
	Revision  int
	IsUpgrade bool
	IsInstall bool
	Service   string
}

// KubeVersion as chartutil.KubeVersion.
type KubeVersion struct {
	Version string
	Major   string
	Minor   string
}

func (kv *KubeVersion) String() string     { return kv.Version }
func (kv *KubeVersion) GitVersion() string { return kv.Version }

// VersionSet as chartutil.VersionSet.
type VersionSet []string

func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

type Capabilities struct {
	APIVersions VersionSet
	KubeVersion KubeVersion
	HelmVersion map[string]string
}

type TemplateInfo struct {
	Name     string
	BasePath string
}

// Files is Helm's .Files (pkg/engine's files type): a file's content by its path in the chart;
// Get of a missing file is "".
type Files map[string][]byte

func (f Files) GetBytes(name string) []byte { return f[name] }
func (f Files) Get(name string) string      { return string(f[name]) }

// chartFiles reads what Helm's loader puts in chart.Files.
func chartFiles(chartDir string) (Files, error) {
	files := Files{}
	err := filepath.Walk(chartDir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(chartDir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case rel == "Chart.yaml", rel == "values.yaml", rel == "values.schema.json",
			strings.HasPrefix(rel, "templates/"), strings.HasPrefix(rel, "charts/"):
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[rel] = data
		return nil
	})
	return files, err
}

type file struct {
	Source  string `json:"source"`
	Content string `json:"content"`
}

type output struct {
	// The coalesced values, as Helm validates them against values.schema.json.
	Values    map[string]interface{} `json:"values"`
	CRDs      []file                 `json:"crds"`
	Manifests []file                 `json:"manifests"`
	Notes     string                 `json:"notes"`
}

// The group/versions of a Kubernetes 1.32 apiserver (chartutil.DefaultVersionSet); extra ones
// (CRDs) come from -api-versions, as with `helm template --api-versions`.
var builtinAPIVersions = []string{
	"v1", "admissionregistration.k8s.io/v1", "apiextensions.k8s.io/v1", "apiregistration.k8s.io/v1",
	"apps/v1", "authentication.k8s.io/v1", "authorization.k8s.io/v1", "autoscaling/v1", "autoscaling/v2",
	"batch/v1", "certificates.k8s.io/v1", "coordination.k8s.io/v1", "discovery.k8s.io/v1",
	"events.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1", "networking.k8s.io/v1", "node.k8s.io/v1",
	"policy/v1", "rbac.authorization.k8s.io/v1", "scheduling.k8s.io/v1", "storage.k8s.io/v1",
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var valueFiles, apiVersions stringList
	chartDir := flag.String("chart", "", "chart directory")
	name := flag.String("name", "release-name", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	kubeVersion := flag.String("kube-version", "v1.32.0", "Kubernetes version for .Capabilities")
	flag.Var(&valueFiles, "f", "values file (repeatable; later files win)")
	flag.Var(&apiVersions, "api-versions", "extra API version for .Capabilities.APIVersions (repeatable)")
	flag.Parse()
	out, err := render(*chartDir, *name, *namespace, *kubeVersion, valueFiles, apiVersions)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}

func readYAMLMap(p string) (map[string]interface{}, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("failed to parse %s: %w", p, err)
	}
	if m == nil {
		m = map[string]interface{}{}
	}
	return m, nil
}

// coalesce merges src over dst as chartutil.CoalesceTables does for user values over chart
// defaults: maps merge key by key, anything else replaces, null deletes.
func coalesce(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, srcIsMap := v.(map[string]interface{})
		dm, dstIsMap := dst[k].(map[string]interface{})
		if srcIsMap && dstIsMap {
			dst[k] = coalesce(dm, sm)
		} else {
			dst[k] = v
		}
	}
	return dst
}

func render(chartDir, name, namespace, kubeVersion string, valueFiles, extraAPIs []string) (*output, error) {
	if chartDir == "" {
		return nil, errors.New("-chart is required")
	}
	chartYAML, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	var meta Metadata
	if err := yaml.UnmarshalStrict(chartYAML, &meta); err != nil {
		return nil, fmt.Errorf("Chart.yaml: %w", err)
	}
	if meta.APIVersion != "v2" || meta.Name == "" || meta.Version == "" {
		return nil, errors.New("Chart.yaml: apiVersion v2, name and version are required")
	}
	if _, err := semver.NewVersion(meta.Version); err != nil {
		return nil, fmt.Errorf("Chart.yaml: version %q is not SemVer 2: %w", meta.Version, err)
	}
	kv, err := semver.NewVersion(kubeVersion)
	if err != nil {
		return nil, fmt.Errorf("kube-version: %w", err)
	}
	if meta.KubeVersion != "" {
		c, err := semver.NewConstraint(meta.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("Chart.yaml: kubeVersion %q: %w", meta.KubeVersion, err)
		}
		if !c.Check(kv) {
			return nil, fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", meta.KubeVersion, kubeVersion)
		}
	}

	values, err := readYAMLMap(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return nil, err
	}
	for _, f := range valueFiles {
		user, err := readYAMLMap(f)
		if err != nil {
			return nil, err
		}
		values = coalesce(values, user)
	}

	caps := Capabilities{
		APIVersions: append(VersionSet{}, append(builtinAPIVersions, extraAPIs...)...),
		KubeVersion: KubeVersion{
			Version: "v" + kv.String(),
			Major:   fmt.Sprint(kv.Major()),
			Minor:   fmt.Sprint(kv.Minor()),
		},
		HelmVersion: map[string]string{"version": "v3.16.0"},
	}
	files, err := chartFiles(chartDir)
	if err != nil {
		return nil, err
	}
	top := map[string]interface{}{
		"Values": values,
		"Release": Release{
			Name: name, Namespace: namespace, Revision: 1, IsInstall: true, Service: "Helm",
		},
		"Chart":        &meta,
		"Capabilities": &caps,
		"Files":        files,
	}

	// Every template file, partials included, in one set (engine.render).
	tdir := filepath.Join(chartDir, "templates")
	var names []string
	sources := map[string]string{}
	err = filepath.Walk(tdir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(chartDir, p)
		n := path.Join(meta.Name, filepath.ToSlash(rel))
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		names = append(names, n)
		sources[n] = string(data)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)

	t := template.New("gotpl").Option("missingkey=zero")
	includedNames := map[string]int{}
	funcs := funcMap()
	funcs["include"] = func(name string, data interface{}) (string, error) {
		if includedNames[name] > 1000 {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		includedNames[name]++
		var buf strings.Builder
		err := t.ExecuteTemplate(&buf, name, data)
		includedNames[name]--
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, vals interface{}) (string, error) {
		clone, err := t.Clone()
		if err != nil {
			return "", err
		}
		nt, err := clone.New("tpl").Parse(text)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %w", text, err)
		}
		var buf strings.Builder
		if err := nt.Execute(&buf, vals); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", text, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	t.Funcs(funcs)
	for _, n := range names {
		if _, err := t.New(n).Parse(sources[n]); err != nil {
			return nil, fmt.Errorf("parse error in %q: %w", n, err)
		}
	}

	out := &output{Values: values, CRDs: []file{}, Manifests: []file{}}
	for _, n := range names {
		if strings.HasPrefix(path.Base(n), "_") {
			continue
		}
		vals := map[string]interface{}{}
		for k, v := range top {
			vals[k] = v
		}
		vals["Template"] = TemplateInfo{Name: n, BasePath: path.Join(meta.Name, "templates")}
		var buf strings.Builder
		if err := t.ExecuteTemplate(&buf, n, vals); err != nil {
			return nil, cleanupExecError(n, err)
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if strings.HasSuffix(n, "NOTES.txt") {
			out.Notes = text
			continue
		}
		docs, err := splitManifests(n, text)
		if err != nil {
			return nil, err
		}
		out.Manifests = append(out.Manifests, docs...)
	}
	sortByInstallOrder(out.Manifests)

	crdDir := filepath.Join(chartDir, "crds")
	if entries, err := os.ReadDir(crdDir); err == nil {
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			data, err := os.ReadFile(filepath.Join(crdDir, e.Name()))
			if err != nil {
				return nil, err
			}
			out.CRDs = append(out.CRDs, file{Source: path.Join(meta.Name, "crds", e.Name()), Content: string(data)})
		}
	}
	return out, nil
}

// funcMap: sprig's text functions less env/expandenv, plus Helm's own (engine.funcMap).
func funcMap() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	extra := template.FuncMap{
		"toYaml": func(v interface{}) string {
			data, err := yaml.Marshal(v)
			if err != nil {
				return ""
			}
			return strings.TrimSuffix(string(data), "\n")
		},
		"fromYaml": func(s string) map[string]interface{} {
			m := map[string]interface{}{}
			if err := yaml.Unmarshal([]byte(s), &m); err != nil {
				m["Error"] = err.Error()
			}
			return m
		},
		"fromYamlArray": func(s string) []interface{} {
			a := []interface{}{}
			if err := yaml.Unmarshal([]byte(s), &a); err != nil {
				a = []interface{}{err.Error()}
			}
			return a
		},
		"toJson": func(v interface{}) string {
			data, err := json.Marshal(v)
			if err != nil {
				return ""
			}
			return string(data)
		},
		"fromJson": func(s string) map[string]interface{} {
			m := map[string]interface{}{}
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				m["Error"] = err.Error()
			}
			return m
		},
		"fromJsonArray": func(s string) []interface{} {
			a := []interface{}{}
			if err := json.Unmarshal([]byte(s), &a); err != nil {
				a = []interface{}{err.Error()}
			}
			return a
		},
		"required": func(warn string, val interface{}) (interface{}, error) {
			if val == nil {
				return val, errors.New(warn)
			} else if s, ok := val.(string); ok && s == "" {
				return val, errors.New(warn)
			}
			return val, nil
		},
		// No cluster to look in: what `helm template` returns.
		"lookup": func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
			return map[string]interface{}{}, nil
		},
		// Replaced per render; defined here so that parsing knows them.
		"include": func(string, interface{}) string { return "" },
		"tpl":     func(string, interface{}) interface{} { return "" },
	}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

var execErrPrefix = regexp.MustCompile(`^template: (.*?):(\d+):(\d+): executing "[^"]*" at <[^>]*>: error calling fail: `)

// cleanupExecError shortens a `fail` error as Helm does, keeping the template position otherwise.
func cleanupExecError(name string, err error) error {
	msg := err.Error()
	if m := execErrPrefix.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("execution error at (%s:%s:%s): %s", m[1], m[2], m[3], msg[len(m[0]):])
	}
	return fmt.Errorf("template: %s: %w", name, err)
}

var sep = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

// splitManifests as releaseutil.SplitManifests plus the checks Helm's kube client makes while
// building the resources of a release.
func splitManifests(source, text string) ([]file, error) {
	var out []file
	for _, doc := range sep.Split(text, -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			return nil, fmt.Errorf("YAML parse error on %s: %w", source, err)
		}
		var any interface{}
		if err := yaml.Unmarshal([]byte(doc), &any); err != nil {
			return nil, fmt.Errorf("YAML parse error on %s: %w", source, err)
		}
		if any == nil {
			continue // only comments
		}
		if head.APIVersion == "" {
			return nil, fmt.Errorf("%s: apiVersion not set in a manifest", source)
		}
		if head.Kind == "" {
			return nil, fmt.Errorf("%s: kind not set in a manifest", source)
		}
		out = append(out, file{Source: source, Content: strings.TrimSpace(doc) + "\n"})
	}
	return out, nil
}

// releaseutil.InstallOrder.
var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
	"PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
	"ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding",
	"RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
	"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
}

func kindOf(content string) string {
	var head struct {
		Kind string `json:"kind"`
	}
	_ = yaml.Unmarshal([]byte(content), &head)
	return head.Kind
}

func sortByInstallOrder(files []file) {
	rank := func(kind string) int {
		for i, k := range installOrder {
			if k == kind {
				return i
			}
		}
		return len(installOrder) // unknown kinds (custom resources) last
	}
	sort.SliceStable(files, func(i, j int) bool {
		return rank(kindOf(files[i].Content)) < rank(kindOf(files[j].Content))
	})
}
