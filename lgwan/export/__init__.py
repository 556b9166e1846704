"""Back ends that write a Plan out for other tools instead of deploying it on this host."""
