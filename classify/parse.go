package classify

import (
	"net"
	"strconv"
	"strings"
)

// Parse turns the text of one RESP error reply into a typed error: a
// *MovedError, *AskError or *RedirectError for redirections, an *Error for
// every other reply. The text may carry the leading '-' of the wire format
// and one trailing "\r\n"; both are dropped, and Error() of the result
// returns what is left, unchanged. Parse never returns nil and never panics.
//
// A MOVED, ASK or REDIRECT reply whose slot or address cannot be read (no
// slot, a slot outside 0..16383, no port, a bad port, extra words) is an
// *Error of KindProtocol whose Malformed field says what is wrong: acting on
// a guessed slot would send the command to the wrong node.
func Parse(reply string) error {
	text := reply
	if text != "" && text[0] == '-' {
		text = text[1:]
	}
	text = strings.TrimSuffix(text, "\r\n")
	code, msg, _ := strings.Cut(text, " ")
	kind := codeKind(code)
	switch kind {
	case KindMoved, KindAsk:
		slot, addr, form, problem := parseSlotAddr(msg)
		if problem != "" {
			return malformed(code, msg, text, problem)
		}
		if kind == KindMoved {
			return &MovedError{Slot: slot, Addr: addr, Form: form, text: text}
		}
		return &AskError{Slot: slot, Addr: addr, Form: form, text: text}
	case KindRedirect:
		addr, form, problem := readAddr(msg)
		if problem != "" {
			return malformed(code, msg, text, problem)
		}
		return &RedirectError{Addr: addr, Form: form, text: text}
	}
	return &Error{Kind: kind, Code: code, Message: msg, text: text}
}

// codeKind maps the first word of a reply onto its kind. Codes are matched
// exactly and case-sensitively, as servers send them; Redis and Valkey word
// their messages differently ("Redis is loading..." and "Valkey is
// loading..."), so only the code decides the kind.
func codeKind(code string) Kind {
	switch code {
	case "MOVED":
		return KindMoved
	case "ASK":
		return KindAsk
	case "REDIRECT":
		return KindRedirect
	case "TRYAGAIN":
		return KindTryAgain
	case "CLUSTERDOWN":
		return KindClusterDown
	case "CROSSSLOT":
		return KindCrossSlot
	case "MASTERDOWN":
		return KindMasterDown
	case "READONLY":
		return KindReadOnly
	case "LOADING":
		return KindLoading
	case "BUSY":
		return KindBusy
	case "NOSCRIPT":
		return KindNoScript
	case "NOAUTH":
		return KindNoAuth
	case "WRONGPASS":
		return KindWrongPass
	case "NOPERM":
		return KindNoPerm
	case "OOM":
		return KindOOM
	case "EXECABORT":
		return KindExecAbort
	case "WRONGTYPE":
		return KindWrongType
	case "NOREPLICAS":
		return KindNoReplicas
	case "MISCONF":
		return KindMisconf
	case "UNBLOCKED":
		return KindUnblocked
	case "BUSYKEY":
		return KindBusyKey
	case "BUSYGROUP":
		return KindBusyGroup
	case "NOGROUP":
		return KindNoGroup
	case "NOPROTO":
		return KindNoProto
	case "NOTBUSY":
		return KindNotBusy
	case "UNKILLABLE":
		return KindUnkillable
	case "DENIED":
		return KindDenied
	case "ERR":
		return KindErr
	}
	return KindUnknown
}

func malformed(code, msg, text, problem string) *Error {
	return &Error{Kind: KindProtocol, Code: code, Message: msg, Malformed: code + ": " + problem, text: text}
}

// parseSlotAddr reads "<slot> <host>:<port>", the body of MOVED and ASK.
// It returns a non-empty problem instead of a guess when the body is not
// exactly that.
func parseSlotAddr(msg string) (slot int, addr string, form AddrForm, problem string) {
	slotText, rest, ok := strings.Cut(msg, " ")
	if !ok {
		return 0, "", 0, "want \"<slot> <host>:<port>\", got " + strconv.Quote(msg)
	}
	slot, ok = parseDecimal(slotText, 0, maxSlot)
	if !ok {
		return 0, "", 0, "slot " + strconv.Quote(slotText) + " is not a number in 0..16383"
	}
	addr, form, problem = readAddr(rest)
	return slot, addr, form, problem
}

// maxSlot is the highest hash slot of a cluster (16384 slots).
const maxSlot = 16383

// readAddr reads the endpoint of a redirection into the form net.Dial
// accepts. The cluster sends the node's preferred endpoint, which may be an
// empty host (the node does not know its own address: use the replying
// node's host), "?" (the node has no endpoint to announce) or an IPv6
// address without brackets, so the port is whatever follows the last colon.
func readAddr(raw string) (addr string, form AddrForm, problem string) {
	if raw == "?" {
		return "", AddrUnknown, ""
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return "", 0, "address " + strconv.Quote(raw) + " contains white space"
	}
	host, port, ok := SplitAddr(raw)
	if !ok {
		return "", 0, "address " + strconv.Quote(raw) + " is not <host>:<port> with a port in 1..65535"
	}
	switch host {
	case "?":
		return "", AddrUnknown, ""
	case "":
		return ":" + strconv.Itoa(port), AddrSameHost, ""
	}
	return joinAddr(raw, host, port), AddrHost, ""
}

// CanonicalAddr returns addr ("host:port"; an IPv6 host with or without
// brackets, as servers write it) in the form net.Dial accepts and the
// project compares: net.JoinHostPort of the host and the decimal port.
// ok is false when addr is not host:port with a port in 1..65535, or the
// host is empty or "?".
func CanonicalAddr(addr string) (string, bool) {
	host, port, ok := SplitAddr(addr)
	if !ok || host == "" || host == "?" {
		return "", false
	}
	return joinAddr(addr, host, port), true
}

// joinAddr is net.JoinHostPort(host, port) made from raw's own text when
// it can be: raw itself for an IPv4 address or a name (the common case, no
// allocation), one concatenation for a bare IPv6 address.
func joinAddr(raw, host string, port int) string {
	portText := raw[strings.LastIndexByte(raw, ':')+1:]
	if portText[0] == '0' {
		return net.JoinHostPort(host, strconv.Itoa(port))
	}
	if !strings.Contains(host, ":") {
		if len(raw) == len(host)+1+len(portText) {
			return raw
		}
		return host + ":" + portText
	}
	if raw[0] == '[' {
		return raw
	}
	return "[" + host + "]:" + portText
}

// SplitAddr splits the address of a redirection into host and port at the
// last colon, since IPv6 hosts come without brackets ("2001:db8::1:6381").
// A bracketed host ("[::1]:6381") loses its brackets. The host may be empty
// ("MOVED 3999 :6380": the caller substitutes the host of the node that
// replied) or "?" (unknown endpoint: refresh the topology). ok is false when
// there is no colon or the port is not a decimal number in 1..65535.
func SplitAddr(addr string) (host string, port int, ok bool) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", 0, false
	}
	host = addr[:i]
	if port, ok = parseDecimal(addr[i+1:], 1, 65535); !ok {
		return "", 0, false
	}
	if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return host, port, true
}

// parseDecimal reads s as a plain decimal number of at most five digits (no
// sign, no spaces: enough for slots and ports) in lo..hi. It does not
// allocate, unlike strconv.Atoi on its error path.
func parseDecimal(s string, lo, hi int) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n >= lo && n <= hi
}
