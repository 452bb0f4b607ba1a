package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// tlsFiles are the PEM files of a cluster's throwaway CA and of the one
// certificate every node serves (and presents to the other nodes on the
// cluster bus and for replication), and the CA as a pool for Go clients.
type tlsFiles struct {
	caFile, certFile, keyFile string
	pool                      *x509.CertPool
}

// makeTLS writes a new CA and a node certificate for 127.0.0.1, ::1 and
// localhost, signed by it, into dir. Both live for a day: a cluster lives
// for one test run.
func makeTLS(dir string) (*tlsFiles, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("cluster: CA key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "clusterhop test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("cluster: CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("cluster: CA certificate: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("cluster: node key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		// The nodes are TLS clients of each other too (cluster bus,
		// replication, MIGRATE), with the same certificate.
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:    []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("cluster: node certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("cluster: node key: %w", err)
	}
	f := &tlsFiles{
		caFile:   filepath.Join(dir, "ca.crt"),
		certFile: filepath.Join(dir, "node.crt"),
		keyFile:  filepath.Join(dir, "node.key"),
		pool:     x509.NewCertPool(),
	}
	f.pool.AddCert(ca)
	for _, w := range []struct {
		path, typ string
		der       []byte
	}{{f.caFile, "CERTIFICATE", caDER}, {f.certFile, "CERTIFICATE", der}, {f.keyFile, "EC PRIVATE KEY", keyDER}} {
		data := pem.EncodeToMemory(&pem.Block{Type: w.typ, Bytes: w.der})
		if err := os.WriteFile(w.path, data, 0o600); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
	}
	return f, nil
}

// clientConfig is the TLS configuration of a client of the nodes: it
// trusts the cluster's CA only, and verifies the host name it dials.
func (f *tlsFiles) clientConfig() *tls.Config {
	if f == nil {
		return nil
	}
	return &tls.Config{RootCAs: f.pool, MinVersion: tls.VersionTLS12}
}

// TLSConfig returns a TLS configuration that trusts the cluster's
// throwaway CA (and nothing else), for clients of a cluster started with
// Config.TLS; nil when the cluster does not use TLS. Each call returns a
// new value the caller may change.
func (c *Cluster) TLSConfig() *tls.Config { return c.acc.tls.clientConfig() }

// CAFile is the path of the PEM file of the cluster's CA ("" without TLS),
// for tools such as redis-cli --cacert.
func (c *Cluster) CAFile() string {
	if c.acc.tls == nil {
		return ""
	}
	return c.acc.tls.caFile
}
