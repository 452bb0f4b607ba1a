package cluster

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
)

// Ports are drawn below Linux's default ephemeral range (32768-60999), so
// that neither outgoing connections nor other tests' ":0" listeners are
// likely to hold one when a server binds it, or binds it again on restart.
const (
	portLow  = 20000
	portHigh = 32000
)

// freePorts returns n distinct ports of the loopback address host that
// were free a moment ago. They are all checked while held open, so none is
// returned twice.
func freePorts(host string, n int) ([]int, error) {
	held := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries > 50*n+100 {
			return nil, fmt.Errorf("cluster: no %d free ports in %s:%d-%d", n, host, portLow, portHigh)
		}
		p := portLow + rand.IntN(portHigh-portLow)
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			continue
		}
		held = append(held, l)
		ports = append(ports, p)
	}
	return ports, nil
}
