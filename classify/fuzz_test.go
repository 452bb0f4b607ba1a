package classify_test

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/clusterhop/clusterhop/classify"
)

// Seeds beyond the committed corpus in testdata/fuzz: edge cases of the
// framing and of the redirect grammar.
var fuzzSeeds = []string{
	"", "-", "\r\n", "-\r\n", "MOVED", "MOVED ", "MOVED 3999 127.0.0.1:6381",
	"-ASK 16383 2001:db8::1:6381\r\n", "MOVED 16384 h:1", "MOVED 3999 :6380",
	"MOVED 3999 ?:6380", "REDIRECT [::1]:6379", "CLUSTERDOWN Hash slot not served",
	"redis: nil", "ERR\x00\xff",
}

// strip removes the framing Parse drops: one leading '-', one trailing CRLF.
func strip(reply string) string {
	return strings.TrimSuffix(strings.TrimPrefix(reply, "-"), "\r\n")
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, reply string) {
		err := classify.Parse(reply)
		if err == nil {
			t.Fatalf("Parse(%q) = nil", reply)
		}
		text := strip(reply)
		if err.Error() != text {
			t.Fatalf("Parse(%q).Error() = %q, want %q", reply, err.Error(), text)
		}
		switch e := err.(type) {
		case *classify.MovedError:
			checkRedirect(t, reply, "MOVED", e.Slot, e.Addr, e.Form, text)
		case *classify.AskError:
			checkRedirect(t, reply, "ASK", e.Slot, e.Addr, e.Form, text)
		case *classify.RedirectError:
			raw, ok := strings.CutPrefix(text, "REDIRECT ")
			if !ok {
				t.Fatalf("Parse(%q): REDIRECT is not its code", reply)
			}
			checkAddr(t, reply, raw, e.Addr, e.Form)
		case *classify.Error:
			switch e.Kind {
			case classify.KindMoved, classify.KindAsk, classify.KindRedirect:
				t.Fatalf("Parse(%q): a %v reply as *Error", reply, e.Kind)
			}
			if e.Kind == classify.KindProtocol && e.Malformed == "" {
				t.Fatalf("Parse(%q): KindProtocol without a reason", reply)
			}
			if e.Code+" "+e.Message != text && e.Code != text {
				t.Fatalf("Parse(%q): code %q and message %q do not make up the text", reply, e.Code, e.Message)
			}
		default:
			t.Fatalf("Parse(%q) returned %T", reply, err)
		}
		// The text Error() gives parses to the same error, unless what is
		// left still looks like framing.
		if !strings.HasPrefix(text, "-") && !strings.HasSuffix(text, "\r\n") {
			again := classify.Parse(err.Error())
			if fmt.Sprintf("%#v", again) != fmt.Sprintf("%#v", err) {
				t.Fatalf("Parse(Parse(%q).Error()) = %#v, want %#v", reply, again, err)
			}
		}
		if classify.InDoubt(err) {
			t.Fatalf("Parse(%q): a reply error in doubt", reply)
		}
	})
}

func checkRedirect(t *testing.T, reply, code string, slot int, addr string, form classify.AddrForm, text string) {
	t.Helper()
	if slot < 0 || slot > 16383 {
		t.Fatalf("Parse(%q): %s slot %d outside 0..16383", reply, code, slot)
	}
	_, raw, _ := strings.Cut(text, " ")
	_, raw, _ = strings.Cut(raw, " ")
	if !strings.HasPrefix(text, code+" ") {
		t.Fatalf("Parse(%q): %s is not its code", reply, code)
	}
	checkAddr(t, reply, raw, addr, form)
}

// checkAddr checks that the address a redirection carries is the server's
// raw address in the form net.Dial accepts, or one of the marked forms.
func checkAddr(t *testing.T, reply, raw, addr string, form classify.AddrForm) {
	t.Helper()
	if strings.ContainsAny(addr, " \r\n\t") {
		t.Fatalf("Parse(%q): accepted address %q", reply, addr)
	}
	host, port, ok := classify.SplitAddr(raw)
	switch form {
	case classify.AddrUnknown:
		if addr != "" || (raw != "?" && host != "?") {
			t.Fatalf("Parse(%q): unknown endpoint %q from %q", reply, addr, raw)
		}
		return
	case classify.AddrSameHost:
		if host != "" || addr != ":"+strconv.Itoa(port) {
			t.Fatalf("Parse(%q): same-host address %q from %q", reply, addr, raw)
		}
		return
	}
	if !ok || port < 1 || port > 65535 {
		t.Fatalf("Parse(%q): accepted address %q (host %q port %d ok %v)", reply, raw, host, port, ok)
	}
	if want := net.JoinHostPort(host, strconv.Itoa(port)); addr != want {
		t.Fatalf("Parse(%q): address %q, want %q", reply, addr, want)
	}
	if canon, ok := classify.CanonicalAddr(raw); !ok || canon != addr {
		t.Fatalf("CanonicalAddr(%q) = %q, %v; Parse gave %q", raw, canon, ok, addr)
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, err := range []error{
			replyErr(text),
			fmt.Errorf("op: %w", replyErr(text)),
			errors.New(text),
			fmt.Errorf("op: %w", errors.New(text)),
		} {
			got := classify.Classify(err)
			if got == nil {
				t.Fatalf("Classify(%#v) = nil", err)
			}
			again := classify.Classify(got)
			if again != got {
				t.Fatalf("Classify not idempotent on %#v: %#v then %#v", err, got, again)
			}
			_, isReply := err.(interface{ RedisError() })
			var reply interface{ RedisError() }
			if errors.As(err, &reply) && !strings.HasPrefix(text, "redis: ") {
				if got.Error() != strip(text) {
					t.Fatalf("Classify(%#v).Error() = %q, want the reply text", err, got.Error())
				}
				if classify.InDoubt(err) {
					t.Fatalf("InDoubt(%#v): a reply error in doubt", err)
				}
			}
			if isReply && classify.KindOf(err) != classify.KindOf(got) {
				t.Fatalf("KindOf(%#v) = %v, KindOf(Classify) = %v", err, classify.KindOf(err), classify.KindOf(got))
			}
			_ = classify.DownReasonOf(err)
			_ = classify.NotSent(err)
		}
	})
}
