"""`python -m mpe_devstack.k8s`."""

from mpe_devstack.k8s import main

raise SystemExit(main())
