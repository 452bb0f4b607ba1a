package command

import (
	"fmt"
	"strings"
)

// parseCommandInfo reads a COMMAND INFO reply as go-redis's Do returns it
// (nested []any; maps as map[any]any under RESP3 and as flat key-value
// lists under RESP2) for the requested names, in order. A nil entry is a
// name the server does not know; it maps to a nil command, remembered as
// unknown. Subcommands are also stored flat, under "container|sub".
func parseCommandInfo(reply any, names []string) (map[string]*command, error) {
	entries, ok := reply.([]any)
	if !ok {
		return nil, fmt.Errorf("COMMAND INFO reply is %T, not an array", reply)
	}
	if len(entries) != len(names) {
		return nil, fmt.Errorf("COMMAND INFO replied %d entries for %d names", len(entries), len(names))
	}
	got := make(map[string]*command, len(names))
	for i, e := range entries {
		if e == nil {
			got[names[i]] = nil
			continue
		}
		name, c, err := parseCommandEntry(e)
		if err != nil {
			return nil, fmt.Errorf("COMMAND INFO %s: %w", names[i], err)
		}
		got[name] = c
		got[names[i]] = c
		if c.subs != nil {
			for _, sl := range c.subs.slots {
				if sl.name != "" {
					got[name+"|"+sl.name] = sl.c
				}
			}
		}
	}
	return got, nil
}

// Positions in a COMMAND INFO entry. Redis 6 stops after aclCategories and
// Redis 5 after step; key specs and subcommands arrived with Redis 7.
const (
	infoName = iota
	infoArity
	infoFlags
	infoFirst
	infoLast
	infoStep
	infoACLCategories
	infoTips
	infoKeySpecs
	infoSubcommands
	infoMinLen = infoStep + 1
)

func parseCommandEntry(e any) (string, *command, error) {
	fields, ok := e.([]any)
	if !ok || len(fields) < infoMinLen {
		return "", nil, fmt.Errorf("entry is %T of %d fields, want an array of at least %d", e, len(fields), infoMinLen)
	}
	name, ok := fields[infoName].(string)
	if !ok {
		return "", nil, fmt.Errorf("name is %T, not a string", fields[infoName])
	}
	name = strings.ToLower(name)
	c := &command{}
	flags, err := stringList(fields[infoFlags])
	if err != nil {
		return "", nil, fmt.Errorf("%s: flags: %w", name, err)
	}
	for _, f := range flags {
		c.flags |= commandFlag(f)
	}
	if len(fields) > infoTips {
		tips, err := stringList(fields[infoTips])
		if err != nil {
			return "", nil, fmt.Errorf("%s: tips: %w", name, err)
		}
		for _, tip := range tips {
			c.flags |= tipFlag(tip)
		}
	}
	if len(fields) > infoKeySpecs {
		specs, ok := fields[infoKeySpecs].([]any)
		if !ok {
			return "", nil, fmt.Errorf("%s: key specs are %T, not an array", name, fields[infoKeySpecs])
		}
		for i, s := range specs {
			spec, known, err := parseKeySpec(s)
			if err != nil {
				return "", nil, fmt.Errorf("%s: key spec %d: %w", name, i, err)
			}
			if known {
				c.specs = append(c.specs, spec)
			}
		}
	} else if err := c.legacyRange(fields); err != nil {
		return "", nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(fields) > infoSubcommands {
		subs, ok := fields[infoSubcommands].([]any)
		if !ok {
			return "", nil, fmt.Errorf("%s: subcommands are %T, not an array", name, fields[infoSubcommands])
		}
		var named []namedCommand
		for _, s := range subs {
			full, sc, err := parseCommandEntry(s)
			if err != nil {
				return "", nil, fmt.Errorf("%s: subcommand: %w", name, err)
			}
			_, sub, _ := strings.Cut(full, "|")
			named = append(named, namedCommand{sub, sc})
		}
		if len(named) > 0 {
			c.subs = indexCommands(named)
		}
	}
	if len(c.specs) == 0 {
		c.flags |= FlagKeyless
	}
	if c.subs != nil {
		// As for a static group: a subcommand of a container whose
		// subcommands are all keyless is keyless too.
		c.anySub = true
		for _, sl := range c.subs.slots {
			c.anySub = c.anySub && (sl.c == nil || sl.c.flags&FlagKeyless != 0)
		}
	}
	return name, c, nil
}

// legacyRange reads first key, last key and step, the only key positions
// servers before Redis 7 report.
func (c *command) legacyRange(fields []any) error {
	var pos [3]int
	for i, f := range fields[infoFirst : infoStep+1] {
		n, ok := f.(int64)
		if !ok {
			return fmt.Errorf("key position %d is %T, not an integer", i, f)
		}
		pos[i] = int(n)
	}
	if pos[0] > 0 && pos[2] > 0 {
		c.specs = append(c.specs, keyRange(pos[0], pos[1], pos[2]))
	}
	return nil
}

// commandFlag maps a COMMAND INFO flag onto Flags.
func commandFlag(f string) Flags {
	switch strings.ToLower(f) {
	case "readonly":
		return FlagReadOnly
	case "write":
		return FlagWrite
	case "blocking":
		return FlagBlocking
	case "pubsub":
		return FlagPubSub
	}
	return 0
}

// tipFlag maps a command tip onto Flags.
func tipFlag(tip string) Flags {
	switch strings.ToLower(tip) {
	case "request_policy:all_shards":
		return FlagAllPrimaries
	case "request_policy:all_nodes":
		return FlagAllNodes
	case "request_policy:multi_shard":
		return FlagSplittable
	case "response_policy:agg_sum":
		return FlagMergeSum
	case "response_policy:agg_min":
		return FlagMergeMin
	case "response_policy:agg_logical_and":
		return FlagMergeAnd
	case "response_policy:one_succeeded":
		return FlagOneSucceeded
	}
	return 0
}

// parseKeySpec reads one key spec. known is false for a spec whose begin
// search or find keys is "unknown" (SORT's BY patterns): the server itself
// finds those keys with code, and no key specs can say where they are.
func parseKeySpec(v any) (s keySpec, known bool, err error) {
	m, err := asMap(v)
	if err != nil {
		return s, false, err
	}
	bs, err := asMap(m["begin_search"])
	if err != nil {
		return s, false, fmt.Errorf("begin_search: %w", err)
	}
	bspec, err := asMap(bs["spec"])
	if err != nil {
		return s, false, fmt.Errorf("begin_search spec: %w", err)
	}
	switch bs["type"] {
	case "index":
		if s.index, err = intField(bspec, "index"); err != nil {
			return s, false, fmt.Errorf("begin_search: %w", err)
		}
	case "keyword":
		kw, ok := bspec["keyword"].(string)
		if !ok || kw == "" {
			return s, false, fmt.Errorf("begin_search: keyword is %T %v, not a word", bspec["keyword"], bspec["keyword"])
		}
		s.keyword = strings.ToLower(kw)
		if s.from, err = intField(bspec, "startfrom"); err != nil {
			return s, false, fmt.Errorf("begin_search: %w", err)
		}
	case "unknown":
		return s, false, nil
	default:
		return s, false, fmt.Errorf("begin_search type %v", bs["type"])
	}
	fk, err := asMap(m["find_keys"])
	if err != nil {
		return s, false, fmt.Errorf("find_keys: %w", err)
	}
	fspec, err := asMap(fk["spec"])
	if err != nil {
		return s, false, fmt.Errorf("find_keys spec: %w", err)
	}
	var fields []*int
	var keys []string
	switch fk["type"] {
	case "range":
		fields, keys = []*int{&s.lastKey, &s.step, &s.limit}, []string{"lastkey", "keystep", "limit"}
	case "keynum":
		s.keynum = true
		fields, keys = []*int{&s.numIdx, &s.firstKey, &s.step}, []string{"keynumidx", "firstkey", "keystep"}
	case "unknown":
		return s, false, nil
	default:
		return s, false, fmt.Errorf("find_keys type %v", fk["type"])
	}
	for i, k := range keys {
		if *fields[i], err = intField(fspec, k); err != nil {
			return s, false, fmt.Errorf("find_keys: %w", err)
		}
	}
	return s, true, nil
}

// asMap reads a RESP3 map, or the flat key-value array RESP2 sends instead.
func asMap(v any) (map[string]any, error) {
	switch v := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("map key is %T, not a string", k)
			}
			m[ks] = x
		}
		return m, nil
	case map[string]any:
		return v, nil
	case []any:
		if len(v)%2 != 0 {
			return nil, fmt.Errorf("key-value array has odd length %d", len(v))
		}
		m := make(map[string]any, len(v)/2)
		for i := 0; i < len(v); i += 2 {
			ks, ok := v[i].(string)
			if !ok {
				return nil, fmt.Errorf("map key is %T, not a string", v[i])
			}
			m[ks] = v[i+1]
		}
		return m, nil
	}
	return nil, fmt.Errorf("%T is not a map", v)
}

// intField reads the integer m[k], bounded so that key positions computed
// from it cannot overflow.
func intField(m map[string]any, k string) (int, error) {
	n, ok := m[k].(int64)
	if !ok {
		return 0, fmt.Errorf("%s is %T, not an integer", k, m[k])
	}
	if n < -1<<20 || n > 1<<20 {
		return 0, fmt.Errorf("%s %d is out of range", k, n)
	}
	return int(n), nil
}

func stringList(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%T is not an array", v)
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("element %T is not a string", x)
		}
		out = append(out, s)
	}
	return out, nil
}
