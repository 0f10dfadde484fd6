package main

import (
	"encoding/json"
	"fmt"
	"regexp"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8sjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Object is one decoded document.
type Object struct {
	Kind, Name, Source string
	Meta               *metav1.ObjectMeta
	Typed              any
}

func (o Object) String() string {
	if o.Source != "" {
		return fmt.Sprintf("%s/%s (%s)", o.Kind, o.Name, o.Source)
	}
	return o.Kind + "/" + o.Name
}

// Manifest is the whole render, by kind and name.
type Manifest struct {
	Objects         []Object
	Deployments     map[string]*appsv1.Deployment
	Services        map[string]*corev1.Service
	Secrets         map[string]*corev1.Secret
	ConfigMaps      map[string]*corev1.ConfigMap
	PVCs            map[string]*corev1.PersistentVolumeClaim
	ServiceAccounts map[string]*corev1.ServiceAccount
	HPAs            map[string]*autoscalingv2.HorizontalPodAutoscaler
	PDBs            map[string]*policyv1.PodDisruptionBudget
	Ingresses       map[string]*networkingv1.Ingress
	ScaledObjects   map[string]*ScaledObject
	TriggerAuths    map[string]*TriggerAuthentication
	ServiceMonitors map[string]*ServiceMonitor
}

var sourceLine = regexp.MustCompile(`(?m)^# Source: (\S+)`)

func newScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme, autoscalingv2.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return scheme
}

// Decode turns the rendered stream into typed objects, strictly.
func Decode(data []byte) (*Manifest, []error) {
	scheme := newScheme()
	codec := k8sjson.NewSerializerWithOptions(k8sjson.DefaultMetaFactory, scheme, scheme, k8sjson.SerializerOptions{Strict: true})
	m := &Manifest{
		Deployments: map[string]*appsv1.Deployment{}, Services: map[string]*corev1.Service{},
		Secrets: map[string]*corev1.Secret{}, ConfigMaps: map[string]*corev1.ConfigMap{},
		PVCs: map[string]*corev1.PersistentVolumeClaim{}, ServiceAccounts: map[string]*corev1.ServiceAccount{},
		HPAs: map[string]*autoscalingv2.HorizontalPodAutoscaler{}, PDBs: map[string]*policyv1.PodDisruptionBudget{},
		Ingresses: map[string]*networkingv1.Ingress{}, ScaledObjects: map[string]*ScaledObject{},
		TriggerAuths: map[string]*TriggerAuthentication{}, ServiceMonitors: map[string]*ServiceMonitor{},
	}
	var errs []error
	seen := map[string]bool{}
	for i, doc := range splitDocuments(data) {
		where := fmt.Sprintf("document %d", i+1)
		source := ""
		if s := sourceLine.FindSubmatch(doc); s != nil {
			source = string(s[1])
			where += " (" + source + ")"
		}
		raw, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: not valid YAML (or a key given twice): %w", where, err))
			continue
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(raw, &tm); err != nil || tm.APIVersion == "" || tm.Kind == "" {
			errs = append(errs, fmt.Errorf("%s: no apiVersion and kind", where))
			continue
		}
		typed, meta, err := decodeOne(codec, tm, raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s %s: %w", where, tm.APIVersion, tm.Kind, err))
			continue
		}
		obj := Object{Kind: tm.Kind, Name: meta.Name, Source: source, Meta: meta, Typed: typed}
		key := tm.Kind + "/" + meta.Name
		if seen[key] {
			errs = append(errs, fmt.Errorf("%s: %s is rendered twice", where, key))
			continue
		}
		seen[key] = true
		m.Objects = append(m.Objects, obj)
		switch t := typed.(type) {
		case *appsv1.Deployment:
			m.Deployments[meta.Name] = t
		case *corev1.Service:
			m.Services[meta.Name] = t
		case *corev1.Secret:
			m.Secrets[meta.Name] = t
		case *corev1.ConfigMap:
			m.ConfigMaps[meta.Name] = t
		case *corev1.PersistentVolumeClaim:
			m.PVCs[meta.Name] = t
		case *corev1.ServiceAccount:
			m.ServiceAccounts[meta.Name] = t
		case *autoscalingv2.HorizontalPodAutoscaler:
			m.HPAs[meta.Name] = t
		case *policyv1.PodDisruptionBudget:
			m.PDBs[meta.Name] = t
		case *networkingv1.Ingress:
			m.Ingresses[meta.Name] = t
		case *ScaledObject:
			m.ScaledObjects[meta.Name] = t
		case *TriggerAuthentication:
			m.TriggerAuths[meta.Name] = t
		case *ServiceMonitor:
			m.ServiceMonitors[meta.Name] = t
		default:
			errs = append(errs, fmt.Errorf("%s: kind %s is not one this chart renders (teach validate about it)", where, tm.Kind))
		}
	}
	if len(m.Objects) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("no objects in the input"))
	}
	return m, errs
}

func decodeOne(codec runtime.Decoder, tm metav1.TypeMeta, raw []byte) (any, *metav1.ObjectMeta, error) {
	strict := func(v any) error {
		strictErrs, err := sigsjson.UnmarshalStrict(raw, v, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
		if err != nil {
			return err
		}
		if len(strictErrs) > 0 {
			return joinErrors("strict decoding: ", strictErrs)
		}
		return nil
	}
	switch tm.GroupVersionKind().String() {
	case "keda.sh/v1alpha1, Kind=ScaledObject":
		o := &ScaledObject{}
		return o, &o.ObjectMeta, strict(o)
	case "keda.sh/v1alpha1, Kind=TriggerAuthentication":
		o := &TriggerAuthentication{}
		return o, &o.ObjectMeta, strict(o)
	case "monitoring.coreos.com/v1, Kind=ServiceMonitor":
		o := &ServiceMonitor{}
		return o, &o.ObjectMeta, strict(o)
	}
	obj, _, err := codec.Decode(raw, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	accessor, ok := obj.(metav1.ObjectMetaAccessor)
	if !ok {
		return nil, nil, fmt.Errorf("has no metadata")
	}
	return obj, accessor.GetObjectMeta().(*metav1.ObjectMeta), nil
}
