package clustertest

func (cn *conn) command(args []string) { cn.dispatch(args) }
