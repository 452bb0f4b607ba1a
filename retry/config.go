package retry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clusterhop/clusterhop/classify"
)

// ParseURL reads a Policy from the query parameters of rawURL (for example
// "redis://10.0.0.1:6379?max_redirects=8&min_backoff=50ms"); see FromQuery.
// Only the policy is read: scheme, user, host and path are not looked at,
// and every parameter must be one of Params, so a connection string that
// also carries go-redis's parameters (dial_timeout, pool_size, addr, ...)
// is refused here. redirect.ParseURL reads such a string whole, seeds and
// node settings included, and hands the policy's parameters to FromQuery.
func ParseURL(rawURL string) (Policy, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Policy{}, fmt.Errorf("retry: %w", err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Policy{}, fmt.Errorf("retry: query of %q: %w", rawURL, err)
	}
	return fromQuery(q, "unknown parameter (redirect.ParseURL reads a connection string with go-redis's parameters too); known: ")
}

// FromQuery reads a Policy from URL query parameters, go-redis style: one
// parameter per field, named as in JSON (nested names joined with '_'):
//
//	max_redirects=8  max_retries=20  disable_retries=true
//	min_backoff=50ms  max_backoff=2s  multiplier=1.5
//	delays=tryagain:5ms,clusterdown:200ms  timeout=10s  in_doubt=idempotent
//	budget_max_tokens=100  budget_token_ratio=0.5  budget_disabled=true
//	breaker_failure_limit=3  breaker_pause=500ms  breaker_max_nodes=64  breaker_disabled=true
//
// Durations need a unit ("50ms", "2s"). A parameter given twice, an
// unknown parameter or a bad value is an error naming it; the result is
// validated.
func FromQuery(q url.Values) (Policy, error) {
	return fromQuery(q, "unknown parameter; known: ")
}

// fromQuery is FromQuery; unknown starts the reason of an unknown
// parameter's error, before the list of known ones.
func fromQuery(q url.Values, unknown string) (Policy, error) {
	var p Policy
	for _, key := range slices.Sorted(maps.Keys(q)) {
		vals := q[key]
		set, ok := params[key]
		if !ok {
			return Policy{}, &ConfigError{Field: key, Value: strings.Join(vals, ","), Reason: unknown + strings.Join(Params(), ", ")}
		}
		if len(vals) != 1 {
			return Policy{}, &ConfigError{Field: key, Value: strings.Join(vals, ","), Reason: "given " + strconv.Itoa(len(vals)) + " times"}
		}
		if err := set(&p, vals[0]); err != nil {
			return Policy{}, &ConfigError{Field: key, Value: vals[0], Reason: err.Error()}
		}
	}
	return p, p.Validate()
}

// Params returns the query parameter names FromQuery accepts, sorted, so a
// caller that shares one URL with other settings can tell them apart.
func Params() []string {
	return slices.Sorted(maps.Keys(params))
}

// Values is the inverse of FromQuery: the parameters of p's non-zero fields.
func (p Policy) Values() url.Values {
	q := url.Values{}
	setInt := func(k string, v int) {
		if v != 0 {
			q.Set(k, strconv.Itoa(v))
		}
	}
	setDur := func(k string, v time.Duration) {
		if v != 0 {
			q.Set(k, v.String())
		}
	}
	setFloat := func(k string, v float64) {
		if v != 0 {
			q.Set(k, strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	setBool := func(k string, v bool) {
		if v {
			q.Set(k, "true")
		}
	}
	setInt("max_redirects", p.MaxRedirects)
	setInt("max_retries", p.MaxRetries)
	setBool("disable_retries", p.DisableRetries)
	setDur("min_backoff", p.MinBackoff)
	setDur("max_backoff", p.MaxBackoff)
	setFloat("multiplier", p.Multiplier)
	if len(p.Delays) > 0 {
		q.Set("delays", formatDelays(p.Delays))
	}
	setDur("timeout", p.Timeout)
	if p.InDoubt != InDoubtReadOnly {
		q.Set("in_doubt", p.InDoubt.String())
	}
	setFloat("budget_max_tokens", p.Budget.MaxTokens)
	setFloat("budget_token_ratio", p.Budget.TokenRatio)
	setBool("budget_disabled", p.Budget.Disabled)
	setInt("breaker_failure_limit", p.Breaker.FailureLimit)
	setDur("breaker_pause", p.Breaker.Pause)
	setInt("breaker_max_nodes", p.Breaker.MaxNodes)
	setBool("breaker_disabled", p.Breaker.Disabled)
	return q
}

var params = map[string]func(p *Policy, v string) error{
	"max_redirects":         func(p *Policy, v string) error { return parseInt(v, &p.MaxRedirects) },
	"max_retries":           func(p *Policy, v string) error { return parseInt(v, &p.MaxRetries) },
	"disable_retries":       func(p *Policy, v string) error { return parseBool(v, &p.DisableRetries) },
	"min_backoff":           func(p *Policy, v string) error { return parseDuration(v, &p.MinBackoff) },
	"max_backoff":           func(p *Policy, v string) error { return parseDuration(v, &p.MaxBackoff) },
	"multiplier":            func(p *Policy, v string) error { return parseFloat(v, &p.Multiplier) },
	"delays":                func(p *Policy, v string) (err error) { p.Delays, err = parseDelays(v); return err },
	"timeout":               func(p *Policy, v string) error { return parseDuration(v, &p.Timeout) },
	"in_doubt":              func(p *Policy, v string) error { return parseInDoubt(v, &p.InDoubt) },
	"budget_max_tokens":     func(p *Policy, v string) error { return parseFloat(v, &p.Budget.MaxTokens) },
	"budget_token_ratio":    func(p *Policy, v string) error { return parseFloat(v, &p.Budget.TokenRatio) },
	"budget_disabled":       func(p *Policy, v string) error { return parseBool(v, &p.Budget.Disabled) },
	"breaker_failure_limit": func(p *Policy, v string) error { return parseInt(v, &p.Breaker.FailureLimit) },
	"breaker_pause":         func(p *Policy, v string) error { return parseDuration(v, &p.Breaker.Pause) },
	"breaker_max_nodes":     func(p *Policy, v string) error { return parseInt(v, &p.Breaker.MaxNodes) },
	"breaker_disabled":      func(p *Policy, v string) error { return parseBool(v, &p.Breaker.Disabled) },
}

func parseInt(v string, dst *int) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return errors.New("not an integer")
	}
	*dst = n
	return nil
}

func parseFloat(v string, dst *float64) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return errors.New("not a number")
	}
	*dst = f
	return nil
}

func parseBool(v string, dst *bool) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New(`want "true" or "false"`)
	}
	*dst = b
	return nil
}

func parseInDoubt(v string, dst *InDoubtMode) error {
	if err := dst.UnmarshalText([]byte(v)); err != nil {
		if ce := (*ConfigError)(nil); errors.As(err, &ce) {
			return errors.New(ce.Reason)
		}
		return err
	}
	return nil
}

// parseDuration reads a Go duration; a bare number other than 0 is refused
// rather than guessed (go-redis reads "3" as seconds, others as ms).
func parseDuration(v string, dst *time.Duration) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		if _, nerr := strconv.ParseFloat(v, 64); nerr == nil {
			return errors.New(`missing unit, write for example "50ms" or "2s"`)
		}
		return errors.New(`not a duration, write for example "50ms" or "2s"`)
	}
	*dst = d
	return nil
}

// parseDelays reads "kind:duration,kind:duration".
func parseDelays(v string) (map[classify.Kind]time.Duration, error) {
	m := map[classify.Kind]time.Duration{}
	for item := range strings.SplitSeq(v, ",") {
		name, dur, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("%q: want kind:duration, for example tryagain:5ms", item)
		}
		k, err := delayKind(name)
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("%s given twice", kindKey(k))
		}
		var d time.Duration
		if err := parseDuration(strings.TrimSpace(dur), &d); err != nil {
			return nil, fmt.Errorf("%s: %w", kindKey(k), err)
		}
		m[k] = d
	}
	return m, nil
}

func delayKind(name string) (classify.Kind, error) {
	k, ok := parseKindKey(name)
	if !ok {
		return 0, fmt.Errorf("%q is not a retryable kind; want one of %s", name, delayKindList())
	}
	return k, nil
}

func formatDelays(m map[classify.Kind]time.Duration) string {
	var items []string
	for _, k := range delayKinds {
		if d, ok := m[k]; ok {
			items = append(items, kindKey(k)+":"+d.String())
		}
	}
	// Keys Validate would refuse still show, so a round trip reports them.
	for k, d := range m {
		if !isDelayKind(k) {
			items = append(items, kindKey(k)+":"+d.String())
		}
	}
	return strings.Join(items, ",")
}

// ParseJSON reads a Policy from one JSON object (see Policy.UnmarshalJSON).
// Empty input, anything but an object, and trailing data after it are
// errors.
func ParseJSON(data []byte) (Policy, error) {
	var p Policy
	switch t := bytes.TrimSpace(data); {
	case len(t) == 0:
		return p, errors.New(`retry: empty input: want a JSON object such as {"max_retries":20}, or {} for every default`)
	case t[0] != '{':
		return p, fmt.Errorf("retry: want a JSON object, got %s", jsonKind(t))
	}
	err := p.UnmarshalJSON(data)
	return p, err
}

// policyJSON is the JSON form of Policy: durations as strings ("50ms"),
// Delays keyed by kind name, and only the fields that are set.
type policyJSON struct {
	MaxRedirects   int               `json:"max_redirects,omitempty"`
	MaxRetries     int               `json:"max_retries,omitempty"`
	DisableRetries bool              `json:"disable_retries,omitempty"`
	MinBackoff     string            `json:"min_backoff,omitempty"`
	MaxBackoff     string            `json:"max_backoff,omitempty"`
	Multiplier     float64           `json:"multiplier,omitempty"`
	Delays         map[string]string `json:"delays,omitempty"`
	Timeout        string            `json:"timeout,omitempty"`
	InDoubt        InDoubtMode       `json:"in_doubt,omitempty"`
	Budget         *BudgetConfig     `json:"budget,omitempty"`
	Breaker        *BreakerConfig    `json:"breaker,omitempty"`
}

// MarshalJSON writes the fields that are set, durations as strings:
// {"max_retries":20,"min_backoff":"50ms","delays":{"tryagain":"5ms"}}.
func (p Policy) MarshalJSON() ([]byte, error) {
	w := policyJSON{
		MaxRedirects:   p.MaxRedirects,
		MaxRetries:     p.MaxRetries,
		DisableRetries: p.DisableRetries,
		MinBackoff:     formatDuration(p.MinBackoff),
		MaxBackoff:     formatDuration(p.MaxBackoff),
		Multiplier:     p.Multiplier,
		Timeout:        formatDuration(p.Timeout),
		InDoubt:        p.InDoubt,
	}
	if len(p.Delays) > 0 {
		w.Delays = make(map[string]string, len(p.Delays))
		for k, d := range p.Delays {
			w.Delays[kindKey(k)] = d.String()
		}
	}
	if p.Budget != (BudgetConfig{}) {
		w.Budget = &p.Budget
	}
	if p.Breaker != (BreakerConfig{}) {
		w.Breaker = &p.Breaker
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the form MarshalJSON writes, strictly: names must
// match exactly (encoding/json alone would take "Timeout" for "timeout"),
// and unknown or repeated fields, wrong types, durations without a unit,
// unknown kinds and values Validate refuses are errors naming the field
// (*ConfigError). JSON null leaves p unchanged, as encoding/json does for
// the types it knows.
func (p *Policy) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	var w policyJSON
	if err := strictDecode(data, &w, "", policyFields); err != nil {
		return err
	}
	q := Policy{
		MaxRedirects:   w.MaxRedirects,
		MaxRetries:     w.MaxRetries,
		DisableRetries: w.DisableRetries,
		Multiplier:     w.Multiplier,
		InDoubt:        w.InDoubt,
	}
	for _, f := range []struct {
		name string
		text string
		dst  *time.Duration
	}{
		{"min_backoff", w.MinBackoff, &q.MinBackoff},
		{"max_backoff", w.MaxBackoff, &q.MaxBackoff},
		{"timeout", w.Timeout, &q.Timeout},
	} {
		if err := jsonDuration(f.name, f.text, f.dst); err != nil {
			return err
		}
	}
	if len(w.Delays) > 0 {
		q.Delays = make(map[classify.Kind]time.Duration, len(w.Delays))
		for _, name := range slices.Sorted(maps.Keys(w.Delays)) {
			k, err := delayKind(name)
			if err != nil {
				return &ConfigError{Field: "delays", Value: name, Reason: err.Error()}
			}
			if _, dup := q.Delays[k]; dup {
				return &ConfigError{Field: "delays", Value: name, Reason: kindKey(k) + " given twice"}
			}
			var d time.Duration
			if err := jsonDuration("delays", w.Delays[name], &d); err != nil {
				return err
			}
			q.Delays[k] = d
		}
	}
	if w.Budget != nil {
		q.Budget = *w.Budget
	}
	if w.Breaker != nil {
		q.Breaker = *w.Breaker
	}
	if err := q.Validate(); err != nil {
		return err
	}
	*p = q
	return nil
}

// breakerJSON is the JSON form of BreakerConfig: Pause as a string.
type breakerJSON struct {
	FailureLimit int    `json:"failure_limit,omitempty"`
	Pause        string `json:"pause,omitempty"`
	MaxNodes     int    `json:"max_nodes,omitempty"`
	Disabled     bool   `json:"disabled,omitempty"`
}

// MarshalJSON writes Pause as a duration string ("2s").
func (c BreakerConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(breakerJSON{c.FailureLimit, formatDuration(c.Pause), c.MaxNodes, c.Disabled})
}

// UnmarshalJSON reads Pause as a duration string, refusing unknown fields.
func (c *BreakerConfig) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	var w breakerJSON
	if err := strictDecode(data, &w, "breaker", breakerFields); err != nil {
		return err
	}
	var pause time.Duration
	if err := jsonDuration("breaker_pause", w.Pause, &pause); err != nil {
		return err
	}
	*c = BreakerConfig{FailureLimit: w.FailureLimit, Pause: pause, MaxNodes: w.MaxNodes, Disabled: w.Disabled}
	return nil
}

// UnmarshalJSON refuses unknown fields.
func (c *BudgetConfig) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	type plain BudgetConfig
	return strictDecode(data, (*plain)(c), "budget", budgetFields)
}

// The names of each JSON object of the policy, read from the struct tags,
// so a key is checked against exactly what MarshalJSON writes.
var (
	policyFields  = jsonNames(reflect.TypeFor[policyJSON]())
	budgetFields  = jsonNames(reflect.TypeFor[BudgetConfig]())
	breakerFields = jsonNames(reflect.TypeFor[breakerJSON]())
)

func jsonNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// strictDecode decodes one JSON object into v. object names the nested
// object v is ("breaker"), or is empty for the policy; fields are its
// names. encoding/json matches names without regard to case and keeps the
// last of a repeated name, so the keys are checked first, exactly; then
// values of the wrong type become a *ConfigError naming the field in its
// URL form ("breaker_pause"), never a Go type.
func strictDecode(data []byte, v any, object string, fields []string) error {
	if err := checkKeys(data, object, fields); err != nil {
		return err
	}
	prefix := ""
	if object != "" {
		prefix = object + "_"
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var (
		ce *ConfigError
		te *json.UnmarshalTypeError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce): // from a nested object's UnmarshalJSON
		return ce
	case errors.As(err, &te):
		field := te.Field
		if name, _, ok := strings.Cut(field, "."); ok && name == "delays" {
			field = name // the key is a kind name, not a field
		}
		if field == "" {
			field = strings.TrimSuffix(prefix, "_")
		}
		return &ConfigError{Field: prefix + strings.ReplaceAll(field, ".", "_"), Value: "a JSON " + te.Value, Reason: "want " + jsonWant(te.Type)}
	}
	return fmt.Errorf("retry: %w", err)
}

// checkKeys reads the keys of the JSON object data and refuses, as a
// *ConfigError, a key that is not one of fields exactly or that is given
// twice; nil fields take any key (the kind names of delays, whose repeats
// encoding/json would drop). Other syntax errors and trailing data are
// errors too.
func checkKeys(data []byte, object string, fields []string) error {
	prefix := ""
	if object != "" {
		prefix = object + "_"
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return jsonSyntax(err, data)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		if object == "" {
			return fmt.Errorf("retry: want a JSON object, got %s", jsonKind(bytes.TrimSpace(data)))
		}
		return &ConfigError{Field: object, Value: jsonKind(bytes.TrimSpace(data)), Reason: "want an object"}
	}
	seen := make(map[string]bool, len(fields))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonSyntax(err, data)
		}
		key, _ := tok.(string) // Token returns only strings in key position
		switch {
		case fields == nil && seen[key]:
			return &ConfigError{Field: object, Value: key, Reason: key + " given twice"}
		case fields == nil:
		case !slices.Contains(fields, key):
			return unknownField(object, key, fields)
		case seen[key]:
			return &ConfigError{Field: prefix + key, Reason: "given twice"}
		}
		seen[key] = true
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return jsonSyntax(err, data)
		}
		if object == "" && key == "delays" && !isNull(value) {
			if err := checkKeys(value, "delays", nil); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return jsonSyntax(err, data)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("retry: trailing data after the JSON value")
	}
	return nil
}

// unknownField explains an unknown key, with the name it was probably
// meant to be when it is one written another way (another case, camelCase,
// the URL form of a nested field).
func unknownField(object, key string, fields []string) error {
	prefix := ""
	if object != "" {
		prefix = object + "_"
	}
	loose := func(s string) string {
		return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s))
	}
	for _, f := range fields {
		if loose(f) == loose(key) {
			return &ConfigError{Field: prefix + key, Reason: fmt.Sprintf("unknown field; did you mean %q? (names are exact, lower case)", f)}
		}
	}
	if object == "" {
		// The URL form flattens nested objects: budget_max_tokens is
		// {"budget":{"max_tokens":…}} in JSON.
		for _, nested := range []struct {
			name   string
			fields []string
		}{{"budget", budgetFields}, {"breaker", breakerFields}} {
			for _, f := range nested.fields {
				if loose(nested.name+"_"+f) == loose(key) {
					return &ConfigError{Field: key, Reason: fmt.Sprintf(`unknown field; did you mean {"%s":{"%s":…}}? (the URL name %s_%s is a nested object in JSON)`, nested.name, f, nested.name, f)}
				}
			}
		}
	}
	return &ConfigError{Field: prefix + key, Reason: "unknown field"}
}

// jsonSyntax words a syntax error without encoding/json's Go vocabulary.
func jsonSyntax(err error, data []byte) error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errors.New("retry: invalid JSON: unexpected end of input")
	case errors.As(err, &se):
		return fmt.Errorf("retry: invalid JSON at byte %d of %d: %s", se.Offset, len(data), strings.TrimPrefix(se.Error(), "json: "))
	}
	return fmt.Errorf("retry: invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonKind names the kind of the JSON value that starts data.
func jsonKind(data []byte) string {
	if len(data) == 0 {
		return "nothing"
	}
	switch data[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '{':
		return "an object"
	}
	return "a number"
}

// jsonWant says what a JSON value of Go type t is written as.
func jsonWant(t reflect.Type) string {
	if t == reflect.TypeFor[InDoubtMode]() {
		return "one of " + quotedList(inDoubtNames[:])
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return `a string (durations are written "50ms")`
	}
	return "an object"
}

func quotedList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

func isNull(data []byte) bool {
	return string(bytes.TrimSpace(data)) == "null"
}

func jsonDuration(field, text string, dst *time.Duration) error {
	if text == "" {
		return nil
	}
	if err := parseDuration(text, dst); err != nil {
		return &ConfigError{Field: field, Value: text, Reason: err.Error()}
	}
	return nil
}

func formatDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}
