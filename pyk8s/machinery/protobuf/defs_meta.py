"""apimachinery messages: meta/v1, runtime, util/intstr, api/resource.

Field numbers, JSON names and types are facts from upstream's
k8s.io/apimachinery generated.proto files; the notation is described in schema.py.
Time, MicroTime, Duration, FieldsV1, IntOrString, Quantity and RawExtension have
their own JSON forms; decode.py maps them (their wire layout is listed here).
"""

META = "k8s.io.apimachinery.pkg.apis.meta.v1"
RUNTIME = "k8s.io.apimachinery.pkg.runtime"
INTSTR = "k8s.io.apimachinery.pkg.util.intstr"
RESOURCE = "k8s.io.apimachinery.pkg.api.resource"

META_MESSAGES: dict[str, str] = {
    "ObjectMeta": "name=1 generateName=2 namespace=3 selfLink=4 uid=5 resourceVersion=6"
    " generation=7:i creationTimestamp=8:Time deletionTimestamp=9:Time"
    " deletionGracePeriodSeconds=10:i labels=11:{s,s} annotations=12:{s,s}"
    " ownerReferences=13:[OwnerReference] finalizers=14:[s]"
    " managedFields=17:[ManagedFieldsEntry]",
    "ListMeta": "selfLink=1 resourceVersion=2 continue=3 remainingItemCount=4:i",
    "OwnerReference": "apiVersion=5 kind=1 name=3 uid=4 controller=6:b blockOwnerDeletion=7:b",
    "ManagedFieldsEntry": "manager=1 operation=2 apiVersion=3 time=4:Time fieldsType=6"
    " fieldsV1=7:FieldsV1 subresource=8",
    "LabelSelector": "matchLabels=1:{s,s} matchExpressions=2:[LabelSelectorRequirement]",
    "LabelSelectorRequirement": "key=1 operator=2 values=3:[s]",
    "Condition": "type=1 status=2 observedGeneration=3:i lastTransitionTime=4:Time reason=5"
    " message=6",
    "DeleteOptions": "gracePeriodSeconds=1:i preconditions=2:Preconditions"
    " orphanDependents=3:b propagationPolicy=4 dryRun=5:[s]"
    " ignoreStoreReadErrorWithClusterBreakingPotential=6:b",
    "Preconditions": "uid=1 resourceVersion=2",
    "CreateOptions": "dryRun=1:[s] fieldManager=3 fieldValidation=4",
    "UpdateOptions": "dryRun=1:[s] fieldManager=2 fieldValidation=3",
    "PatchOptions": "dryRun=1:[s] force=2:b fieldManager=3 fieldValidation=4",
    "GetOptions": "resourceVersion=1",
    "Status": "metadata=1:ListMeta status=2 message=3 reason=4 details=5:StatusDetails code=6:i",
    "StatusDetails": "name=1 group=2 kind=3 uid=6 causes=4:[StatusCause] retryAfterSeconds=5:i",
    "StatusCause": "reason=1 message=2 field=3",
    # Wire layouts of the types with a special JSON form.
    "Time": "seconds=1:i nanos=2:i",
    "MicroTime": "seconds=1:i nanos=2:i",
    "Duration": "duration=1:i",
    "FieldsV1": "Raw=1:y",
}

RUNTIME_MESSAGES: dict[str, str] = {
    "Unknown": "typeMeta=1:TypeMeta raw=2:y contentEncoding=3 contentType=4",
    "TypeMeta": "apiVersion=1 kind=2",
    "RawExtension": "raw=1:y",
}

INTSTR_MESSAGES: dict[str, str] = {"IntOrString": "type=1:i intVal=2:i strVal=3"}

RESOURCE_MESSAGES: dict[str, str] = {"Quantity": "string=1"}

PACKAGES: dict[str, dict[str, str]] = {
    META: META_MESSAGES,
    RUNTIME: RUNTIME_MESSAGES,
    INTSTR: INTSTR_MESSAGES,
    RESOURCE: RESOURCE_MESSAGES,
}
