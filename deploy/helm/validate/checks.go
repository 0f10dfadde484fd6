package main

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
)

type checker struct {
	m           *Manifest
	external    map[string]bool
	externalPVC map[string]bool
	errs        []error
}

func (c *checker) fail(where fmt.Stringer, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
}

type named string

func (n named) String() string { return string(n) }

// Check runs every cross-object, semantic and security check.
func Check(m *Manifest, externalSecrets, externalPVCs []string) []error {
	c := &checker{m: m, external: map[string]bool{}, externalPVC: map[string]bool{}}
	for _, s := range externalSecrets {
		c.external[s] = true
	}
	for _, s := range externalPVCs {
		c.externalPVC[s] = true
	}
	for _, o := range m.Objects {
		c.checkMeta(o)
	}
	for _, name := range sortedKeys(m.Deployments) {
		c.checkDeployment(named("Deployment/"+name), m.Deployments[name])
	}
	c.checkServices()
	c.checkPDBs()
	c.checkScaling()
	c.checkIngresses()
	c.checkTriggerAuths()
	c.checkServiceMonitors()
	c.checkPVCs()
	return c.errs
}

func (c *checker) checkMeta(o Object) {
	for _, msg := range validation.IsDNS1123Subdomain(o.Name) {
		c.fail(o, "metadata.name %q: %s", o.Name, msg)
	}
	if o.Kind == "Service" {
		for _, msg := range validation.IsDNS1035Label(o.Name) {
			c.fail(o, "a Service name must be a DNS-1035 label: %s", msg)
		}
	}
	c.checkLabels(o, "metadata.labels", o.Meta.Labels)
	for k := range o.Meta.Annotations {
		for _, msg := range validation.IsQualifiedName(k) {
			c.fail(o, "annotation key %q: %s", k, msg)
		}
	}
}

func (c *checker) checkLabels(where fmt.Stringer, field string, l map[string]string) {
	for k, v := range l {
		for _, msg := range validation.IsQualifiedName(k) {
			c.fail(where, "%s key %q: %s", field, k, msg)
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			c.fail(where, "%s[%q] = %q: %s", field, k, v, msg)
		}
	}
}

// --- Deployments and their pods ---------------------------------------------------------------

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)`)

func (c *checker) checkDeployment(where named, d *appsv1.Deployment) {
	tmpl := d.Spec.Template
	c.checkLabels(where, "spec.template.metadata.labels", tmpl.Labels)
	if d.Spec.Selector == nil || len(d.Spec.Selector.MatchLabels)+len(d.Spec.Selector.MatchExpressions) == 0 {
		c.fail(where, "spec.selector is empty")
	} else if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil {
		c.fail(where, "spec.selector: %v", err)
	} else if !sel.Matches(labels.Set(tmpl.Labels)) {
		c.fail(where, "spec.selector does not match the pod template's labels")
	}
	pod := tmpl.Spec
	if len(pod.Containers) == 0 {
		c.fail(where, "no containers")
	}
	if sa := pod.ServiceAccountName; sa != "" && c.m.ServiceAccounts[sa] == nil {
		c.fail(where, "serviceAccountName %q is not rendered", sa)
	}
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		if volumes[v.Name] {
			c.fail(where, "volume %q is declared twice", v.Name)
		}
		volumes[v.Name] = true
		for _, msg := range validation.IsDNS1123Label(v.Name) {
			c.fail(where, "volume name %q: %s", v.Name, msg)
		}
		switch {
		case v.ConfigMap != nil:
			c.needConfigMap(where, v.ConfigMap.Name, false)
		case v.Secret != nil:
			c.needSecret(where, v.Secret.SecretName, "", v.Secret.Optional != nil && *v.Secret.Optional)
		case v.PersistentVolumeClaim != nil:
			if c.m.PVCs[v.PersistentVolumeClaim.ClaimName] == nil {
				// An existingClaim: made outside the chart, like an external Secret.
				if !c.externalPVC[v.PersistentVolumeClaim.ClaimName] {
					c.fail(where, "volume %q: PersistentVolumeClaim %q is neither rendered nor declared external (-external-pvc)",
						v.Name, v.PersistentVolumeClaim.ClaimName)
				}
			}
		case v.EmptyDir != nil:
		default:
			c.fail(where, "volume %q: only emptyDir, configMap, secret and persistentVolumeClaim volumes are expected", v.Name)
		}
	}
	all := append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...)
	for _, ctr := range all {
		cw := named(fmt.Sprintf("%s container %q", where, ctr.Name))
		c.checkContainer(cw, ctr, volumes)
	}
	c.checkPodSecurity(where, pod, all)
}

func (c *checker) checkContainer(where named, ctr corev1.Container, volumes map[string]bool) {
	for _, msg := range validation.IsDNS1123Label(ctr.Name) {
		c.fail(where, "name: %s", msg)
	}
	if ctr.Image == "" {
		c.fail(where, "no image")
	}
	ports := map[string]int32{}
	for _, p := range ctr.Ports {
		if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			c.fail(where, "containerPort %d out of range", p.ContainerPort)
		}
		if p.Name != "" {
			for _, msg := range validation.IsValidPortName(p.Name) {
				c.fail(where, "port name %q: %s", p.Name, msg)
			}
			ports[p.Name] = p.ContainerPort
		}
	}
	for _, from := range ctr.EnvFrom {
		if from.ConfigMapRef != nil {
			c.needConfigMap(where, from.ConfigMapRef.Name, from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional)
		}
		if from.SecretRef != nil {
			c.needSecret(where, from.SecretRef.Name, "", from.SecretRef.Optional != nil && *from.SecretRef.Optional)
		}
	}
	defined := map[string]bool{}
	for _, e := range ctr.Env {
		for _, msg := range validation.IsEnvVarName(e.Name) {
			c.fail(where, "env name %q: %s", e.Name, msg)
		}
		if defined[e.Name] {
			c.fail(where, "env %s is set twice", e.Name)
		}
		// Kubernetes expands $(NAME) only from variables defined earlier in the list; anything
		// else stays literal, which would put "$(NAME)" into a URL or a key.
		for _, ref := range varRef.FindAllStringSubmatch(e.Value, -1) {
			if !defined[ref[1]] {
				c.fail(where, "env %s uses $(%s), which is not defined before it", e.Name, ref[1])
			}
		}
		defined[e.Name] = true
		if e.ValueFrom != nil {
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				c.needSecret(where, r.Name, r.Key, r.Optional != nil && *r.Optional)
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				c.needConfigMapKey(where, r.Name, r.Key, r.Optional != nil && *r.Optional)
			}
		}
	}
	mounts := map[string]bool{}
	for _, vm := range ctr.VolumeMounts {
		if !volumes[vm.Name] {
			c.fail(where, "volumeMount %q has no volume", vm.Name)
		}
		if mounts[vm.MountPath] {
			c.fail(where, "two volumes mounted at %s", vm.MountPath)
		}
		mounts[vm.MountPath] = true
	}
	for _, probe := range []struct {
		name, path string
		p          *corev1.Probe
	}{{"livenessProbe", "/health/live", ctr.LivenessProbe}, {"readinessProbe", "/health/ready", ctr.ReadinessProbe}, {"startupProbe", "", ctr.StartupProbe}} {
		if probe.p == nil {
			if probe.path != "" {
				c.fail(where, "no %s (every service serves %s)", probe.name, probe.path)
			}
			continue
		}
		get := probe.p.HTTPGet
		if get == nil {
			c.fail(where, "%s is not an HTTP GET", probe.name)
			continue
		}
		if probe.path != "" && get.Path != probe.path {
			c.fail(where, "%s path is %q, not %s", probe.name, get.Path, probe.path)
		}
		if get.Port.StrVal != "" {
			if _, ok := ports[get.Port.StrVal]; !ok {
				c.fail(where, "%s port %q is not a container port", probe.name, get.Port.StrVal)
			}
		} else if !slices.ContainsFunc(ctr.Ports, func(p corev1.ContainerPort) bool { return p.ContainerPort == get.Port.IntVal }) {
			c.fail(where, "%s port %d is not a container port", probe.name, get.Port.IntVal)
		}
	}
	for res, limit := range ctr.Resources.Limits {
		if req, ok := ctr.Resources.Requests[res]; ok && req.Cmp(limit) > 0 {
			c.fail(where, "requests.%s %s is above limits.%s %s", res, req.String(), res, limit.String())
		}
	}
}

// checkPodSecurity: the restricted Pod Security Standard and then some, for every container.
func (c *checker) checkPodSecurity(where named, pod corev1.PodSpec, containers []corev1.Container) {
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		c.fail(where, "uses the host's network, PID or IPC namespace")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		c.fail(where, "automountServiceAccountToken is not false (no component talks to the Kubernetes API)")
	}
	if psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		c.fail(where, "pod runAsUser is 0")
	}
	if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		c.fail(where, "pod securityContext.runAsNonRoot is not true (containers added later would inherit root)")
	}
	for _, ctr := range containers {
		cw := named(fmt.Sprintf("%s container %q", where, ctr.Name))
		sc := ctr.SecurityContext
		if sc == nil {
			c.fail(cw, "no securityContext")
			continue
		}
		nonRoot := (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (sc.RunAsNonRoot == nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
		if !nonRoot {
			c.fail(cw, "runAsNonRoot is not true")
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			c.fail(cw, "runAsUser is 0")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			c.fail(cw, "allowPrivilegeEscalation is not false")
		}
		if sc.Privileged != nil && *sc.Privileged {
			c.fail(cw, "privileged")
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			c.fail(cw, "readOnlyRootFilesystem is not true")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, corev1.Capability("ALL")) {
			c.fail(cw, "capabilities.drop does not hold ALL")
		} else if len(sc.Capabilities.Add) > 0 {
			c.fail(cw, "capabilities.add is not empty: %v", sc.Capabilities.Add)
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil {
			seccomp = psc.SeccompProfile
		}
		if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
			c.fail(cw, "seccompProfile is not RuntimeDefault (or Localhost)")
		}
	}
}

func (c *checker) needSecret(where fmt.Stringer, name, key string, optional bool) {
	s := c.m.Secrets[name]
	if s == nil {
		if !c.external[name] && !optional {
			c.fail(where, "Secret %q is neither rendered nor declared external (-external-secret)", name)
		}
		return
	}
	if key == "" || optional {
		return
	}
	if _, ok := s.Data[key]; ok {
		return
	}
	if _, ok := s.StringData[key]; ok {
		return
	}
	c.fail(where, "Secret %q has no key %q", name, key)
}

func (c *checker) needConfigMap(where fmt.Stringer, name string, optional bool) {
	if c.m.ConfigMaps[name] == nil && !optional {
		c.fail(where, "ConfigMap %q is not rendered", name)
	}
}

func (c *checker) needConfigMapKey(where fmt.Stringer, name, key string, optional bool) {
	cm := c.m.ConfigMaps[name]
	if cm == nil {
		c.needConfigMap(where, name, optional)
		return
	}
	if _, ok := cm.Data[key]; !ok && !optional {
		c.fail(where, "ConfigMap %q has no key %q", name, key)
	}
}

// --- Services, PDBs, Ingress ------------------------------------------------------------------

// selected returns the Deployments whose pods a selector matches.
func (c *checker) selected(sel labels.Selector) []*appsv1.Deployment {
	var out []*appsv1.Deployment
	for _, name := range sortedKeys(c.m.Deployments) {
		d := c.m.Deployments[name]
		if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, d)
		}
	}
	return out
}

func (c *checker) checkServices() {
	for _, name := range sortedKeys(c.m.Services) {
		s := c.m.Services[name]
		where := named("Service/" + name)
		if len(s.Spec.Selector) == 0 {
			c.fail(where, "no selector")
			continue
		}
		pods := c.selected(labels.SelectorFromSet(s.Spec.Selector))
		if len(pods) == 0 {
			c.fail(where, "its selector matches no Deployment's pods")
		}
		if len(pods) > 1 {
			c.fail(where, "its selector matches %d Deployments", len(pods))
		}
		for _, p := range s.Spec.Ports {
			if p.TargetPort.StrVal == "" {
				continue
			}
			for _, d := range pods {
				found := false
				for _, ctr := range d.Spec.Template.Spec.Containers {
					found = found || slices.ContainsFunc(ctr.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.TargetPort.StrVal })
				}
				if !found {
					c.fail(where, "targetPort %q is no container port of Deployment/%s", p.TargetPort.StrVal, d.Name)
				}
			}
		}
	}
}

func (c *checker) checkPDBs() {
	for _, name := range sortedKeys(c.m.PDBs) {
		p := c.m.PDBs[name]
		where := named("PodDisruptionBudget/" + name)
		if (p.Spec.MinAvailable == nil) == (p.Spec.MaxUnavailable == nil) {
			c.fail(where, "exactly one of minAvailable and maxUnavailable must be set")
		}
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || p.Spec.Selector == nil || sel.Empty() {
			c.fail(where, "no usable selector")
			continue
		}
		if len(c.selected(sel)) != 1 {
			c.fail(where, "its selector matches %d Deployments, not 1", len(c.selected(sel)))
		}
	}
}

func (c *checker) checkIngresses() {
	for _, name := range sortedKeys(c.m.Ingresses) {
		ing := c.m.Ingresses[name]
		where := named("Ingress/" + name)
		if len(ing.Spec.Rules) == 0 {
			c.fail(where, "no rules")
		}
		for _, rule := range ing.Spec.Rules {
			for _, msg := range validation.IsDNS1123Subdomain(rule.Host) {
				c.fail(where, "host %q: %s", rule.Host, msg)
			}
			if rule.HTTP == nil {
				c.fail(where, "rule for %q has no http paths", rule.Host)
				continue
			}
			for _, p := range rule.HTTP.Paths {
				if p.PathType == nil {
					c.fail(where, "path %q has no pathType", p.Path)
				}
				if p.Backend.Service == nil {
					c.fail(where, "path %q has no service backend", p.Path)
					continue
				}
				svc := c.m.Services[p.Backend.Service.Name]
				if svc == nil {
					c.fail(where, "path %q: Service %q is not rendered", p.Path, p.Backend.Service.Name)
					continue
				}
				port := p.Backend.Service.Port
				if !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool {
					return (port.Name != "" && sp.Name == port.Name) || (port.Number != 0 && sp.Port == port.Number)
				}) {
					c.fail(where, "path %q: Service %q has no port %v", p.Path, svc.Name, port)
				}
			}
		}
	}
}

// --- Autoscaling ------------------------------------------------------------------------------

func (c *checker) checkScaling() {
	scaledBy := map[string]string{}
	claim := func(where fmt.Stringer, kind, name string) *appsv1.Deployment {
		if kind != "" && kind != "Deployment" {
			c.fail(where, "scales a %s; the chart only has Deployments", kind)
			return nil
		}
		d := c.m.Deployments[name]
		if d == nil {
			c.fail(where, "its target Deployment %q is not rendered", name)
			return nil
		}
		if other, ok := scaledBy[name]; ok {
			c.fail(where, "Deployment %q is already scaled by %s: two autoscalers would fight", name, other)
		}
		scaledBy[name] = where.String()
		if d.Spec.Replicas != nil {
			c.fail(where, "Deployment %q sets spec.replicas, which every upgrade would reset under the autoscaler", name)
		}
		return d
	}
	for _, name := range sortedKeys(c.m.HPAs) {
		h := c.m.HPAs[name]
		where := named("HorizontalPodAutoscaler/" + name)
		d := claim(where, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
		if h.Spec.MinReplicas != nil && *h.Spec.MinReplicas > h.Spec.MaxReplicas {
			c.fail(where, "minReplicas %d > maxReplicas %d", *h.Spec.MinReplicas, h.Spec.MaxReplicas)
		}
		if len(h.Spec.Metrics) == 0 {
			c.fail(where, "no metrics")
		}
		for _, metric := range h.Spec.Metrics {
			if metric.Type == autoscalingv2.ResourceMetricSourceType && metric.Resource != nil && d != nil &&
				metric.Resource.Target.Type == autoscalingv2.UtilizationMetricType {
				for _, ctr := range d.Spec.Template.Spec.Containers {
					if _, ok := ctr.Resources.Requests[metric.Resource.Name]; !ok {
						c.fail(where, "scales on %s utilization but container %q requests no %s", metric.Resource.Name, ctr.Name, metric.Resource.Name)
					}
				}
			}
		}
	}
	for _, name := range sortedKeys(c.m.ScaledObjects) {
		so := c.m.ScaledObjects[name]
		where := named("ScaledObject/" + name)
		spec := so.Spec
		if spec.ScaleTargetRef == nil || spec.ScaleTargetRef.Name == "" {
			c.fail(where, "no scaleTargetRef.name")
		} else {
			if v := spec.ScaleTargetRef.APIVersion; v != "" && v != "apps/v1" {
				c.fail(where, "scaleTargetRef.apiVersion %q is not apps/v1", v)
			}
			claim(where, spec.ScaleTargetRef.Kind, spec.ScaleTargetRef.Name)
		}
		minR, maxR := int32(0), int32(100) // KEDA's defaults
		if spec.MinReplicaCount != nil {
			minR = *spec.MinReplicaCount
		}
		if spec.MaxReplicaCount != nil {
			maxR = *spec.MaxReplicaCount
		}
		if minR > maxR {
			c.fail(where, "minReplicaCount %d > maxReplicaCount %d", minR, maxR)
		}
		if spec.IdleReplicaCount != nil && *spec.IdleReplicaCount >= minR {
			c.fail(where, "idleReplicaCount must be below minReplicaCount")
		}
		if len(spec.Triggers) == 0 {
			c.fail(where, "no triggers")
		}
		names := map[string]bool{}
		for i, t := range spec.Triggers {
			tw := named(fmt.Sprintf("%s trigger %d (%s)", where, i, t.Type))
			if t.Name != "" {
				if names[t.Name] {
					c.fail(tw, "trigger name %q is used twice", t.Name)
				}
				names[t.Name] = true
			}
			c.checkTrigger(tw, t)
			if spec.Fallback != nil && t.MetricType != autoscalingv2.AverageValueMetricType {
				c.fail(tw, "fallback needs every trigger's metricType to be AverageValue (KEDA refuses it otherwise)")
			}
		}
		if f := spec.Fallback; f != nil && (f.FailureThreshold < 1 || f.Replicas < 1) {
			c.fail(where, "fallback failureThreshold and replicas must be at least 1")
		}
	}
}

func (c *checker) checkTrigger(where named, t ScaleTrigger) {
	known, ok := triggerMetadataKeys[t.Type]
	if !ok {
		c.fail(where, "trigger type %q is not one validate knows (redis, prometheus)", t.Type)
		return
	}
	for k := range t.Metadata {
		if !known[k] {
			c.fail(where, "metadata key %q is not read by KEDA's %s scaler (a secret belongs in a TriggerAuthentication)", k, t.Type)
		}
	}
	if r := t.AuthenticationRef; r != nil {
		if r.Kind != "" && r.Kind != "TriggerAuthentication" {
			c.fail(where, "authenticationRef kind %q: only TriggerAuthentication is rendered", r.Kind)
		} else if c.m.TriggerAuths[r.Name] == nil {
			c.fail(where, "authenticationRef %q is not rendered", r.Name)
		}
	}
	positiveNumber := func(key string, integer bool) {
		v, ok := t.Metadata[key]
		if !ok {
			c.fail(where, "metadata.%s is required", key)
			return
		}
		var f float64
		var err error
		if integer {
			var n int64
			n, err = strconv.ParseInt(v, 10, 64)
			f = float64(n)
		} else {
			f, err = strconv.ParseFloat(v, 64)
		}
		if err != nil || f <= 0 {
			c.fail(where, "metadata.%s %q is not a positive number", key, v)
		}
	}
	switch t.Type {
	case "redis":
		if t.Metadata["address"] == "" && t.Metadata["host"] == "" && t.Metadata["addressFromEnv"] == "" && t.Metadata["hostFromEnv"] == "" {
			c.fail(where, "no Redis address")
		}
		if t.Metadata["listName"] == "" {
			c.fail(where, "metadata.listName is required")
		}
		positiveNumber("listLength", true)
		if v, ok := t.Metadata["enableTLS"]; ok {
			if _, err := strconv.ParseBool(v); err != nil {
				c.fail(where, "metadata.enableTLS %q is not a boolean", v)
			}
		}
		if v, ok := t.Metadata["databaseIndex"]; ok {
			if _, err := strconv.Atoi(v); err != nil {
				c.fail(where, "metadata.databaseIndex %q is not an integer", v)
			}
		}
	case "prometheus":
		u, err := url.Parse(t.Metadata["serverAddress"])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.fail(where, "metadata.serverAddress %q is not an http(s) URL", t.Metadata["serverAddress"])
		}
		if t.Metadata["query"] == "" {
			c.fail(where, "metadata.query is required")
		}
		positiveNumber("threshold", false)
	}
}

func (c *checker) checkTriggerAuths() {
	for _, name := range sortedKeys(c.m.TriggerAuths) {
		ta := c.m.TriggerAuths[name]
		where := named("TriggerAuthentication/" + name)
		if len(ta.Spec.SecretTargetRef) == 0 {
			c.fail(where, "no secretTargetRef")
		}
		for _, ref := range ta.Spec.SecretTargetRef {
			if ref.Parameter == "" || ref.Name == "" || ref.Key == "" {
				c.fail(where, "secretTargetRef needs parameter, name and key")
				continue
			}
			c.needSecret(where, ref.Name, ref.Key, false)
		}
	}
}

func (c *checker) checkServiceMonitors() {
	for _, name := range sortedKeys(c.m.ServiceMonitors) {
		sm := c.m.ServiceMonitors[name]
		where := named("ServiceMonitor/" + name)
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil || sel.Empty() {
			c.fail(where, "no usable selector")
			continue
		}
		var matched []*corev1.Service
		for _, sname := range sortedKeys(c.m.Services) {
			if s := c.m.Services[sname]; sel.Matches(labels.Set(s.Labels)) {
				matched = append(matched, s)
			}
		}
		if len(matched) == 0 {
			c.fail(where, "its selector matches no Service")
		}
		if len(sm.Spec.Endpoints) == 0 {
			c.fail(where, "no endpoints")
		}
		for _, ep := range sm.Spec.Endpoints {
			for _, s := range matched {
				if ep.Port != "" && !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
					c.fail(where, "Service %q has no port named %q", s.Name, ep.Port)
				}
			}
		}
	}
}

func (c *checker) checkPVCs() {
	for _, name := range sortedKeys(c.m.PVCs) {
		p := c.m.PVCs[name]
		where := named("PersistentVolumeClaim/" + name)
		if len(p.Spec.AccessModes) == 0 {
			c.fail(where, "no accessModes")
		}
		if _, ok := p.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
			c.fail(where, "no storage request")
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
