# man/local.mk - the man pages.
# man/man3 and man/man7 mirror the installed tree: a link page such as
# nb_tcp_accept.3 holds ".so man3/nb_tcp_listen.3", which man -l resolves
# from man/ just as man(1) does once the pages are installed.
dist_man_MANS = \
	man/man7/netbasics.7 \
	man/man3/nb_error.3 \
	man/man3/nb_error_clear.3 \
	man/man3/nb_error_message.3 \
	man/man3/nb_code_name.3 \
	man/man3/nb_error_is_temporary.3 \
	man/man3/nb_tcp_listen.3 \
	man/man3/nb_tcp_accept.3 \
	man/man3/nb_tcp_connect.3 \
	man/man3/nb_tcp_keepalive.3 \
	man/man3/nb_tcp_user_timeout.3 \
	man/man3/nb_connector.3 \
	man/man3/nb_connector_start.3 \
	man/man3/nb_connector_fd.3 \
	man/man3/nb_connector_step.3 \
	man/man3/nb_connector_free.3 \
	man/man3/nb_resolve.3 \
	man/man3/nb_udp_bind.3 \
	man/man3/nb_udp_connect.3 \
	man/man3/nb_udp_sendto.3 \
	man/man3/nb_udp_recvfrom.3 \
	man/man3/nb_send_all.3 \
	man/man3/nb_recv_all.3 \
	man/man3/nb_recv.3 \
	man/man3/nb_addr_format.3 \
	man/man3/nb_addr.3 \
	man/man3/nb_local_addr.3 \
	man/man3/nb_peer_addr.3 \
	man/man3/nb_addr_port.3 \
	man/man3/nb_split_hostport.3 \
	man/man3/nb_unix_listen.3 \
	man/man3/nb_unix_connect.3 \
	man/man3/nb_unix_bind.3 \
	man/man3/nb_listen_fds.3 \
	man/man3/nb_version.3
