"""Messages of the named API groups kubectl writes: apps, batch, policy, rbac,
scheduling, networking, coordination, discovery, autoscaling, authentication.

Field numbers, JSON names and types are facts from upstream's k8s.io/api
<group>/<version>/generated.proto files; the notation is described in schema.py.
JSON names are used where the proto spelling differs (aPIGroup -> apiGroup).
"""

APPS_V1: dict[str, str] = {
    "ControllerRevision": "metadata=1:ObjectMeta data=2:RawExtension revision=3:i",
    "DaemonSet": "metadata=1:ObjectMeta spec=2:DaemonSetSpec status=3:DaemonSetStatus",
    "DaemonSetCondition": "type=1 status=2 lastTransitionTime=3:Time reason=4 message=5",
    "DaemonSetSpec": "selector=1:LabelSelector template=2:core.PodTemplateSpec"
    " updateStrategy=3:DaemonSetUpdateStrategy minReadySeconds=4:i revisionHistoryLimit=6:i",
    "DaemonSetStatus": "currentNumberScheduled=1:i numberMisscheduled=2:i"
    " desiredNumberScheduled=3:i numberReady=4:i observedGeneration=5:i"
    " updatedNumberScheduled=6:i numberAvailable=7:i numberUnavailable=8:i"
    " collisionCount=9:i conditions=10:[DaemonSetCondition]",
    "DaemonSetUpdateStrategy": "type=1 rollingUpdate=2:RollingUpdateDaemonSet",
    "Deployment": "metadata=1:ObjectMeta spec=2:DeploymentSpec status=3:DeploymentStatus",
    "DeploymentCondition": "type=1 status=2 lastUpdateTime=6:Time lastTransitionTime=7:Time"
    " reason=4 message=5",
    "DeploymentSpec": "replicas=1:i selector=2:LabelSelector template=3:core.PodTemplateSpec"
    " strategy=4:DeploymentStrategy minReadySeconds=5:i revisionHistoryLimit=6:i"
    " paused=7:b progressDeadlineSeconds=9:i podReplacementPolicy=10",
    "DeploymentStatus": "observedGeneration=1:i replicas=2:i updatedReplicas=3:i"
    " readyReplicas=7:i availableReplicas=4:i unavailableReplicas=5:i"
    " terminatingReplicas=9:i conditions=6:[DeploymentCondition] collisionCount=8:i",
    "DeploymentStrategy": "type=1 rollingUpdate=2:RollingUpdateDeployment",
    "ReplicaSet": "metadata=1:ObjectMeta spec=2:ReplicaSetSpec status=3:ReplicaSetStatus",
    "ReplicaSetCondition": "type=1 status=2 lastTransitionTime=3:Time reason=4 message=5",
    "ReplicaSetSpec": "replicas=1:i minReadySeconds=4:i selector=2:LabelSelector"
    " template=3:core.PodTemplateSpec",
    "ReplicaSetStatus": "replicas=1:i fullyLabeledReplicas=2:i readyReplicas=4:i"
    " availableReplicas=5:i terminatingReplicas=7:i observedGeneration=3:i"
    " conditions=6:[ReplicaSetCondition]",
    "RollingUpdateDaemonSet": "maxUnavailable=1:IntOrString maxSurge=2:IntOrString",
    "RollingUpdateDeployment": "maxUnavailable=1:IntOrString maxSurge=2:IntOrString",
    "RollingUpdateStatefulSetStrategy": "partition=1:i maxUnavailable=2:IntOrString",
    "StatefulSet": "metadata=1:ObjectMeta spec=2:StatefulSetSpec status=3:StatefulSetStatus",
    "StatefulSetCondition": "type=1 status=2 lastTransitionTime=3:Time reason=4 message=5",
    "StatefulSetOrdinals": "start=1:i",
    "StatefulSetPersistentVolumeClaimRetentionPolicy": "whenDeleted=1 whenScaled=2",
    "StatefulSetSpec": "replicas=1:i selector=2:LabelSelector template=3:core.PodTemplateSpec"
    " volumeClaimTemplates=4:[core.PersistentVolumeClaim] serviceName=5"
    " podManagementPolicy=6 updateStrategy=7:StatefulSetUpdateStrategy"
    " revisionHistoryLimit=8:i minReadySeconds=9:i"
    " persistentVolumeClaimRetentionPolicy=10:StatefulSetPersistentVolumeClaimRetentionPolicy"
    " ordinals=11:StatefulSetOrdinals",
    "StatefulSetStatus": "observedGeneration=1:i replicas=2:i readyReplicas=3:i"
    " currentReplicas=4:i updatedReplicas=5:i currentRevision=6 updateRevision=7"
    " collisionCount=9:i conditions=10:[StatefulSetCondition] availableReplicas=11:i",
    "StatefulSetUpdateStrategy": "type=1 rollingUpdate=2:RollingUpdateStatefulSetStrategy",
}

BATCH_V1: dict[str, str] = {
    "CronJob": "metadata=1:ObjectMeta spec=2:CronJobSpec status=3:CronJobStatus",
    "CronJobSpec": "schedule=1 timeZone=8 startingDeadlineSeconds=2:i concurrencyPolicy=3"
    " suspend=4:b jobTemplate=5:JobTemplateSpec successfulJobsHistoryLimit=6:i"
    " failedJobsHistoryLimit=7:i",
    "CronJobStatus": "active=1:[core.ObjectReference] lastScheduleTime=4:Time"
    " lastSuccessfulTime=5:Time",
    "Job": "metadata=1:ObjectMeta spec=2:JobSpec status=3:JobStatus",
    "JobCondition": "type=1 status=2 lastProbeTime=3:Time lastTransitionTime=4:Time reason=5"
    " message=6",
    "JobSpec": "parallelism=1:i completions=2:i activeDeadlineSeconds=3:i"
    " podFailurePolicy=11:PodFailurePolicy successPolicy=16:SuccessPolicy backoffLimit=7:i"
    " backoffLimitPerIndex=12:i maxFailedIndexes=13:i selector=4:LabelSelector"
    " manualSelector=5:b template=6:core.PodTemplateSpec ttlSecondsAfterFinished=8:i"
    " completionMode=9 suspend=10:b podReplacementPolicy=14 managedBy=15",
    "JobStatus": "conditions=1:[JobCondition] startTime=2:Time completionTime=3:Time active=4:i"
    " succeeded=5:i failed=6:i terminating=11:i completedIndexes=7 failedIndexes=10"
    " uncountedTerminatedPods=8:UncountedTerminatedPods ready=9:i",
    "JobTemplateSpec": "metadata=1:ObjectMeta spec=2:JobSpec",
    "PodFailurePolicy": "rules=1:[PodFailurePolicyRule]",
    "PodFailurePolicyOnExitCodesRequirement": "containerName=1 operator=2 values=3:[i]",
    "PodFailurePolicyOnPodConditionsPattern": "type=1 status=2",
    "PodFailurePolicyRule": "action=1 onExitCodes=2:PodFailurePolicyOnExitCodesRequirement"
    " onPodConditions=3:[PodFailurePolicyOnPodConditionsPattern]",
    "SuccessPolicy": "rules=1:[SuccessPolicyRule]",
    "SuccessPolicyRule": "succeededIndexes=1 succeededCount=2:i",
    "UncountedTerminatedPods": "succeeded=1:[s] failed=2:[s]",
}

POLICY_V1: dict[str, str] = {
    "Eviction": "metadata=1:ObjectMeta deleteOptions=2:DeleteOptions",
    "PodDisruptionBudget": "metadata=1:ObjectMeta spec=2:PodDisruptionBudgetSpec"
    " status=3:PodDisruptionBudgetStatus",
    "PodDisruptionBudgetSpec": "minAvailable=1:IntOrString selector=2:LabelSelector"
    " maxUnavailable=3:IntOrString unhealthyPodEvictionPolicy=4",
    "PodDisruptionBudgetStatus": "observedGeneration=1:i disruptedPods=2:{s,Time}"
    " disruptionsAllowed=3:i currentHealthy=4:i desiredHealthy=5:i expectedPods=6:i"
    " conditions=7:[Condition]",
}

RBAC_V1: dict[str, str] = {
    "AggregationRule": "clusterRoleSelectors=1:[LabelSelector]",
    "ClusterRole": "metadata=1:ObjectMeta rules=2:[PolicyRule] aggregationRule=3:AggregationRule",
    "ClusterRoleBinding": "metadata=1:ObjectMeta subjects=2:[Subject] roleRef=3:RoleRef",
    "PolicyRule": "verbs=1:[s] apiGroups=2:[s] resources=3:[s] resourceNames=4:[s]"
    " nonResourceURLs=5:[s]",
    "Role": "metadata=1:ObjectMeta rules=2:[PolicyRule]",
    "RoleBinding": "metadata=1:ObjectMeta subjects=2:[Subject] roleRef=3:RoleRef",
    "RoleRef": "apiGroup=1 kind=2 name=3",
    "Subject": "kind=1 apiGroup=2 name=3 namespace=4",
}

SCHEDULING_V1: dict[str, str] = {
    "PriorityClass": "metadata=1:ObjectMeta value=2:i globalDefault=3:b description=4"
    " preemptionPolicy=5",
}

NETWORKING_V1: dict[str, str] = {
    "HTTPIngressPath": "path=1 pathType=3 backend=2:IngressBackend",
    "HTTPIngressRuleValue": "paths=1:[HTTPIngressPath]",
    "IPAddress": "metadata=1:ObjectMeta spec=2:IPAddressSpec",
    "IPAddressSpec": "parentRef=1:ParentReference",
    "IPBlock": "cidr=1 except=2:[s]",
    "Ingress": "metadata=1:ObjectMeta spec=2:IngressSpec status=3:IngressStatus",
    "IngressBackend": "service=4:IngressServiceBackend resource=3:core.TypedLocalObjectReference",
    "IngressClass": "metadata=1:ObjectMeta spec=2:IngressClassSpec",
    "IngressClassParametersReference": "apiGroup=1 kind=2 name=3 scope=4 namespace=5",
    "IngressClassSpec": "controller=1 parameters=2:IngressClassParametersReference",
    "IngressLoadBalancerIngress": "ip=1 hostname=2 ports=4:[IngressPortStatus]",
    "IngressLoadBalancerStatus": "ingress=1:[IngressLoadBalancerIngress]",
    "IngressPortStatus": "port=1:i protocol=2 error=3",
    # IngressRuleValue is inlined into IngressRule's JSON.
    "IngressRule": "host=1 *=2:IngressRuleValue",
    "IngressRuleValue": "http=1:HTTPIngressRuleValue",
    "IngressServiceBackend": "name=1 port=2:ServiceBackendPort",
    "IngressSpec": "ingressClassName=4 defaultBackend=1:IngressBackend tls=2:[IngressTLS]"
    " rules=3:[IngressRule]",
    "IngressStatus": "loadBalancer=1:IngressLoadBalancerStatus",
    "IngressTLS": "hosts=1:[s] secretName=2",
    "NetworkPolicy": "metadata=1:ObjectMeta spec=2:NetworkPolicySpec",
    "NetworkPolicyEgressRule": "ports=1:[NetworkPolicyPort] to=2:[NetworkPolicyPeer]",
    "NetworkPolicyIngressRule": "ports=1:[NetworkPolicyPort] from=2:[NetworkPolicyPeer]",
    "NetworkPolicyPeer": "podSelector=1:LabelSelector namespaceSelector=2:LabelSelector"
    " ipBlock=3:IPBlock",
    "NetworkPolicyPort": "protocol=1 port=2:IntOrString endPort=3:i",
    "NetworkPolicySpec": "podSelector=1:LabelSelector ingress=2:[NetworkPolicyIngressRule]"
    " egress=3:[NetworkPolicyEgressRule] policyTypes=4:[s]",
    "ParentReference": "group=1 resource=2 namespace=3 name=4",
    "ServiceBackendPort": "name=1 number=2:i",
    "ServiceCIDR": "metadata=1:ObjectMeta spec=2:ServiceCIDRSpec status=3:ServiceCIDRStatus",
    "ServiceCIDRSpec": "cidrs=1:[s]",
    "ServiceCIDRStatus": "conditions=1:[Condition]",
}

COORDINATION_V1: dict[str, str] = {
    "Lease": "metadata=1:ObjectMeta spec=2:LeaseSpec",
    "LeaseSpec": "holderIdentity=1 leaseDurationSeconds=2:i acquireTime=3:MicroTime"
    " renewTime=4:MicroTime leaseTransitions=5:i strategy=6 preferredHolder=7",
}

DISCOVERY_V1: dict[str, str] = {
    "Endpoint": "addresses=1:[s] conditions=2:EndpointConditions hostname=3"
    " targetRef=4:core.ObjectReference deprecatedTopology=5:{s,s} nodeName=6 zone=7"
    " hints=8:EndpointHints",
    "EndpointConditions": "ready=1:b serving=2:b terminating=3:b",
    "EndpointHints": "forZones=1:[ForZone] forNodes=2:[ForNode]",
    "EndpointPort": "name=1 protocol=2 port=3:i appProtocol=4",
    "EndpointSlice": "metadata=1:ObjectMeta addressType=4 endpoints=2:[Endpoint]"
    " ports=3:[EndpointPort]",
    "ForNode": "name=1",
    "ForZone": "name=1",
}

AUTOSCALING_V1: dict[str, str] = {
    "CrossVersionObjectReference": "kind=1 name=2 apiVersion=3",
    "HorizontalPodAutoscaler": "metadata=1:ObjectMeta spec=2:HorizontalPodAutoscalerSpec"
    " status=3:HorizontalPodAutoscalerStatus",
    "HorizontalPodAutoscalerSpec": "scaleTargetRef=1:CrossVersionObjectReference"
    " minReplicas=2:i maxReplicas=3:i targetCPUUtilizationPercentage=4:i",
    "HorizontalPodAutoscalerStatus": "observedGeneration=1:i lastScaleTime=2:Time"
    " currentReplicas=3:i desiredReplicas=4:i currentCPUUtilizationPercentage=5:i",
    "Scale": "metadata=1:ObjectMeta spec=2:ScaleSpec status=3:ScaleStatus",
    "ScaleSpec": "replicas=1:i",
    "ScaleStatus": "replicas=1:i selector=2",
}

AUTHENTICATION_V1: dict[str, str] = {
    "BoundObjectReference": "kind=1 apiVersion=2 name=3 uid=4",
    "TokenRequest": "metadata=1:ObjectMeta spec=2:TokenRequestSpec status=3:TokenRequestStatus",
    "TokenRequestSpec": "audiences=1:[s] expirationSeconds=4:i"
    " boundObjectRef=3:BoundObjectReference",
    "TokenRequestStatus": "token=1 expirationTimestamp=2:Time",
    "TokenReview": "metadata=1:ObjectMeta spec=2:TokenReviewSpec status=3:TokenReviewStatus",
    "TokenReviewSpec": "token=1 audiences=2:[s]",
    "TokenReviewStatus": "authenticated=1:b user=2:UserInfo audiences=4:[s] error=3",
    # UserInfo.extra values are ExtraValue messages whose JSON form is a plain list.
    "UserInfo": "username=1 uid=2 groups=3:[s] extra=4:{s,ExtraValue}",
    "ExtraValue": "items=1:[s]",
}

# API group/version -> (proto package, messages, kinds the group serves).
GROUPS: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    "apps/v1": (
        "k8s.io.api.apps.v1",
        APPS_V1,
        ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "ControllerRevision"),
    ),
    "batch/v1": ("k8s.io.api.batch.v1", BATCH_V1, ("Job", "CronJob")),
    "policy/v1": ("k8s.io.api.policy.v1", POLICY_V1, ("PodDisruptionBudget", "Eviction")),
    "rbac.authorization.k8s.io/v1": (
        "k8s.io.api.rbac.v1",
        RBAC_V1,
        ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"),
    ),
    "scheduling.k8s.io/v1": ("k8s.io.api.scheduling.v1", SCHEDULING_V1, ("PriorityClass",)),
    "networking.k8s.io/v1": (
        "k8s.io.api.networking.v1",
        NETWORKING_V1,
        ("Ingress", "IngressClass", "NetworkPolicy", "IPAddress", "ServiceCIDR"),
    ),
    "coordination.k8s.io/v1": ("k8s.io.api.coordination.v1", COORDINATION_V1, ("Lease",)),
    "discovery.k8s.io/v1": ("k8s.io.api.discovery.v1", DISCOVERY_V1, ("EndpointSlice",)),
    "autoscaling/v1": (
        "k8s.io.api.autoscaling.v1",
        AUTOSCALING_V1,
        ("Scale", "HorizontalPodAutoscaler"),
    ),
    "authentication.k8s.io/v1": (
        "k8s.io.api.authentication.v1",
        AUTHENTICATION_V1,
        ("TokenRequest", "TokenReview"),
    ),
}
