// Command validate checks the Kubernetes manifests `helm template` renders for the Intrascribe
// chart, offline: no cluster, no downloaded schemas.
//
// Every document is decoded strictly into its typed struct: the Kubernetes kinds through
// k8s.io/api's own types (apimachinery's strict JSON serializer: unknown fields, duplicate fields,
// wrong types and miscased field names are errors); KEDA's ScaledObject / TriggerAuthentication
// and the Prometheus Operator's ServiceMonitor through the small mirrors in crds.go (only the
// fields the chart uses, with the upstream JSON names). Then the manifest is checked as a whole:
// names and labels are valid, every reference (Secret, ConfigMap, Service, PVC, scale target,
// TriggerAuthentication, port name, volume, $(VAR) in env) resolves, selectors select something,
// and every pod runs hardened (non-root, read-only root file system, no privilege escalation, ALL
// capabilities dropped, RuntimeDefault seccomp, no service-account token) with liveness and
// readiness probes on /health/live and /health/ready.
//
// Usage: validate [-external-secret NAME]... [-external-pvc NAME]... [-summary] FILE|-
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var external, externalPVC stringList
	flag.Var(&external, "external-secret", "a Secret the manifest may reference without rendering it (repeatable)")
	flag.Var(&externalPVC, "external-pvc", "a PersistentVolumeClaim the manifest may reference without rendering it (repeatable)")
	summary := flag.Bool("summary", false, "print a JSON summary (kinds and names) on success")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: validate [-external-secret NAME]... [-external-pvc NAME]... [-summary] FILE|-")
		os.Exit(2)
	}
	var in io.Reader = os.Stdin
	if name := flag.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "validate:", err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(bufio.NewReader(in))
	if err != nil {
		fmt.Fprintln(os.Stderr, "validate:", err)
		os.Exit(2)
	}
	m, errs := Decode(data)
	if len(errs) == 0 {
		errs = Check(m, external, externalPVC)
	}
	if len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintln(os.Stderr, "validate: error:", err)
		}
		fmt.Fprintf(os.Stderr, "validate: %d error(s)\n", len(errs))
		os.Exit(1)
	}
	counts := map[string]int{}
	for _, o := range m.Objects {
		counts[o.Kind]++
	}
	if *summary {
		out := map[string][]string{}
		for _, o := range m.Objects {
			out[o.Kind] = append(out[o.Kind], o.Name)
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return
	}
	kinds := make([]string, 0, len(counts))
	for k, n := range counts {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	fmt.Printf("validate: OK: %d objects (%s)\n", len(m.Objects), strings.Join(kinds, ", "))
}

// splitDocuments cuts a multi-document YAML stream at its `---` lines, dropping documents that
// hold only comments and blank lines (helm leaves those for templates that render nothing).
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		if hasContent(cur.Bytes()) {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
		}
		cur.Reset()
	}
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		trimmed := bytes.TrimRight(line, " \t\r\n")
		if bytes.Equal(trimmed, []byte("---")) || bytes.HasPrefix(trimmed, []byte("--- ")) {
			flush()
			continue
		}
		cur.Write(line)
	}
	flush()
	return docs
}

func hasContent(doc []byte) bool {
	for _, line := range bytes.Split(doc, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' {
			return true
		}
	}
	return false
}

func joinErrors(prefix string, errs []error) error {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	return errors.New(prefix + strings.Join(msgs, "; "))
}
