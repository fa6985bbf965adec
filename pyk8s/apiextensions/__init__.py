"""CustomResourceDefinitions (apiextensions.k8s.io/v1), served as upstream's
apiextensions-apiserver serves them.

Pure modules (no server imports; usable from the api layer):
    jsonpath    the kubectl JSONPath subset of additionalPrinterColumns
    schema      structural schemas: validation, pruning, defaulting of custom resources
    strategy    the custom resource strategy built from one CRD version
    printer     Table columns from additionalPrinterColumns
    openapi     the published OpenAPI v3 schema of a custom resource kind
The server side:
    crdregistry watches CRDs and keeps the resource table (routing, discovery,
                OpenAPI, printing) in step with them; cleans up on CRD deletion
"""
