"""Container images without a registry on the internet.

Among others: OCI archives written deterministically (`oci`, references in
`refs`), the sandbox image built from source (`pause`), sample images assembled
from host packages (`samples`, `hostbin`), and importing archives into the local
cluster's nodes (`cluster`)."""
