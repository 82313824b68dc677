package pseudonym

import "net/netip"

// TruncateIPs replaces, in place, every attrs value that is a full IP
// address (or address:port) by its network: /24 for IPv4, /48 for IPv6.
// No full IP address is stored, yet "many requests from few networks"
// (an attack signal) stays visible. It returns how many values it changed.
func TruncateIPs(attrs map[string]string) int {
	n := 0
	for k, v := range attrs {
		addr, err := netip.ParseAddr(v)
		if err != nil {
			ap, perr := netip.ParseAddrPort(v)
			if perr != nil {
				continue
			}
			addr = ap.Addr()
		}
		bits := 48
		if addr.Unmap().Is4() {
			addr, bits = addr.Unmap(), 24
		}
		p, _ := addr.Prefix(bits)
		attrs[k] = p.String()
		n++
	}
	return n
}
