"""`python -m mpe_devstack.chaos`."""

from mpe_devstack.chaos import main

main()
