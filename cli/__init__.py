"""The ``roundpool`` command line (:mod:`cli.main`).

Importing the package configures the memory allocator first (:mod:`cli.allocator`): it only takes effect if set
before pyarrow's library loads.
"""

from cli import allocator

allocator.configure()
