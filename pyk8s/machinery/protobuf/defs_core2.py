"""core/v1 messages, part 2 (PersistentVolumeClaimVolumeSource..SecretVolumeSource).

Field numbers, JSON names and types are facts from upstream's
k8s.io/api/core/v1/generated.proto; the notation is described in schema.py.
"""

PACKAGE = "k8s.io.api.core.v1"

MESSAGES: dict[str, str] = {
    "PersistentVolumeClaimVolumeSource": "claimName=1 readOnly=2:b",
    "PersistentVolumeSource": "gcePersistentDisk=1:GCEPersistentDiskVolumeSource"
    " awsElasticBlockStore=2:AWSElasticBlockStoreVolumeSource hostPath=3:HostPathVolumeSource"
    " glusterfs=4:GlusterfsPersistentVolumeSource nfs=5:NFSVolumeSource"
    " rbd=6:RBDPersistentVolumeSource iscsi=7:ISCSIPersistentVolumeSource"
    " cinder=8:CinderPersistentVolumeSource cephfs=9:CephFSPersistentVolumeSource"
    " fc=10:FCVolumeSource flocker=11:FlockerVolumeSource"
    " flexVolume=12:FlexPersistentVolumeSource azureFile=13:AzureFilePersistentVolumeSource"
    " vsphereVolume=14:VsphereVirtualDiskVolumeSource quobyte=15:QuobyteVolumeSource"
    " azureDisk=16:AzureDiskVolumeSource photonPersistentDisk=17:PhotonPersistentDiskVolumeSource"
    " portworxVolume=18:PortworxVolumeSource scaleIO=19:ScaleIOPersistentVolumeSource"
    " local=20:LocalVolumeSource storageos=21:StorageOSPersistentVolumeSource"
    " csi=22:CSIPersistentVolumeSource",
    "PersistentVolumeSpec": "capacity=1:{s,Quantity} *=2:PersistentVolumeSource"
    " accessModes=3:[s] claimRef=4:ObjectReference persistentVolumeReclaimPolicy=5"
    " storageClassName=6 mountOptions=7:[s] volumeMode=8 nodeAffinity=9:VolumeNodeAffinity"
    " volumeAttributesClassName=10",
    "PersistentVolumeStatus": "phase=1 message=2 reason=3 lastPhaseTransitionTime=4:Time",
    "PhotonPersistentDiskVolumeSource": "pdID=1 fsType=2",
    "Pod": "metadata=1:ObjectMeta spec=2:PodSpec status=3:PodStatus",
    "PodAffinity": "requiredDuringSchedulingIgnoredDuringExecution=1:[PodAffinityTerm]"
    " preferredDuringSchedulingIgnoredDuringExecution=2:[WeightedPodAffinityTerm]",
    "PodAffinityTerm": "labelSelector=1:LabelSelector namespaces=2:[s] topologyKey=3"
    " namespaceSelector=4:LabelSelector matchLabelKeys=5:[s] mismatchLabelKeys=6:[s]",
    "PodAntiAffinity": "requiredDuringSchedulingIgnoredDuringExecution=1:[PodAffinityTerm]"
    " preferredDuringSchedulingIgnoredDuringExecution=2:[WeightedPodAffinityTerm]",
    "PodCertificateProjection": "signerName=1 keyType=2 maxExpirationSeconds=3:i"
    " credentialBundlePath=4 keyPath=5 certificateChainPath=6 userAnnotations=7:{s,s}",
    "PodCondition": "type=1 observedGeneration=7:i status=2 lastProbeTime=3:Time"
    " lastTransitionTime=4:Time reason=5 message=6",
    "PodDNSConfig": "nameservers=1:[s] searches=2:[s] options=3:[PodDNSConfigOption]",
    "PodDNSConfigOption": "name=1 value=2",
    "PodExtendedResourceClaimStatus": "requestMappings=1:[ContainerExtendedResourceRequest]"
    " resourceClaimName=2",
    "PodIP": "ip=1",
    "PodOS": "name=1",
    "PodReadinessGate": "conditionType=1",
    "PodResourceClaim": "name=1 resourceClaimName=3 resourceClaimTemplateName=4",
    "PodResourceClaimStatus": "name=1 resourceClaimName=2",
    "PodSchedulingGate": "name=1",
    "PodSecurityContext": "seLinuxOptions=1:SELinuxOptions"
    " windowsOptions=8:WindowsSecurityContextOptions runAsUser=2:i runAsGroup=6:i"
    " runAsNonRoot=3:b supplementalGroups=4:[i] supplementalGroupsPolicy=12 fsGroup=5:i"
    " sysctls=7:[Sysctl] fsGroupChangePolicy=9 seccompProfile=10:SeccompProfile"
    " appArmorProfile=11:AppArmorProfile seLinuxChangePolicy=13",
    "PodSignature": "podController=1:OwnerReference",
    "PodSpec": "volumes=1:[Volume] initContainers=20:[Container] containers=2:[Container]"
    " ephemeralContainers=34:[EphemeralContainer] restartPolicy=3"
    " terminationGracePeriodSeconds=4:i activeDeadlineSeconds=5:i dnsPolicy=6"
    " nodeSelector=7:{s,s} serviceAccountName=8 serviceAccount=9"
    " automountServiceAccountToken=21:b nodeName=10 hostNetwork=11:b hostPID=12:b"
    " hostIPC=13:b shareProcessNamespace=27:b securityContext=14:PodSecurityContext"
    " imagePullSecrets=15:[LocalObjectReference] hostname=16 subdomain=17"
    " affinity=18:Affinity schedulerName=19 tolerations=22:[Toleration]"
    " hostAliases=23:[HostAlias] priorityClassName=24 priority=25:i"
    " dnsConfig=26:PodDNSConfig readinessGates=28:[PodReadinessGate] runtimeClassName=29"
    " enableServiceLinks=30:b preemptionPolicy=31 overhead=32:{s,Quantity}"
    " topologySpreadConstraints=33:[TopologySpreadConstraint] setHostnameAsFQDN=35:b"
    " os=36:PodOS hostUsers=37:b schedulingGates=38:[PodSchedulingGate]"
    " resourceClaims=39:[PodResourceClaim] resources=40:ResourceRequirements"
    " hostnameOverride=41 workloadRef=42:WorkloadReference",
    "PodStatus": "observedGeneration=17:i phase=1 conditions=2:[PodCondition] message=3"
    " reason=4 nominatedNodeName=11 hostIP=5 hostIPs=16:[HostIP] podIP=6 podIPs=12:[PodIP]"
    " startTime=7:Time initContainerStatuses=10:[ContainerStatus]"
    " containerStatuses=8:[ContainerStatus] qosClass=9"
    " ephemeralContainerStatuses=13:[ContainerStatus] resize=14"
    " resourceClaimStatuses=15:[PodResourceClaimStatus]"
    " extendedResourceClaimStatus=18:PodExtendedResourceClaimStatus"
    " allocatedResources=19:{s,Quantity} resources=20:ResourceRequirements",
    "PodStatusResult": "metadata=1:ObjectMeta status=2:PodStatus",
    "PodTemplate": "metadata=1:ObjectMeta template=2:PodTemplateSpec",
    "PodTemplateSpec": "metadata=1:ObjectMeta spec=2:PodSpec",
    "PortStatus": "port=1:i protocol=2 error=3",
    "PortworxVolumeSource": "volumeID=1 fsType=2 readOnly=3:b",
    "PreferAvoidPodsEntry": "podSignature=1:PodSignature evictionTime=2:Time reason=3 message=4",
    "PreferredSchedulingTerm": "weight=1:i preference=2:NodeSelectorTerm",
    "Probe": "*=1:ProbeHandler initialDelaySeconds=2:i timeoutSeconds=3:i periodSeconds=4:i"
    " successThreshold=5:i failureThreshold=6:i terminationGracePeriodSeconds=7:i",
    "ProbeHandler": "exec=1:ExecAction httpGet=2:HTTPGetAction tcpSocket=3:TCPSocketAction"
    " grpc=4:GRPCAction",
    "ProjectedVolumeSource": "sources=1:[VolumeProjection] defaultMode=2:i",
    "QuobyteVolumeSource": "registry=1 volume=2 readOnly=3:b user=4 group=5 tenant=6",
    "RBDPersistentVolumeSource": "monitors=1:[s] image=2 fsType=3 pool=4 user=5 keyring=6"
    " secretRef=7:SecretReference readOnly=8:b",
    "RBDVolumeSource": "monitors=1:[s] image=2 fsType=3 pool=4 user=5 keyring=6"
    " secretRef=7:LocalObjectReference readOnly=8:b",
    "RangeAllocation": "metadata=1:ObjectMeta range=2 data=3:y",
    "ReplicationController": "metadata=1:ObjectMeta spec=2:ReplicationControllerSpec"
    " status=3:ReplicationControllerStatus",
    "ReplicationControllerCondition": "type=1 status=2 lastTransitionTime=3:Time reason=4"
    " message=5",
    "ReplicationControllerSpec": "replicas=1:i minReadySeconds=4:i selector=2:{s,s}"
    " template=3:PodTemplateSpec",
    "ReplicationControllerStatus": "replicas=1:i fullyLabeledReplicas=2:i readyReplicas=4:i"
    " availableReplicas=5:i observedGeneration=3:i"
    " conditions=6:[ReplicationControllerCondition]",
    "ResourceClaim": "name=1 request=2",
    "ResourceFieldSelector": "containerName=1 resource=2 divisor=3:Quantity",
    "ResourceHealth": "resourceID=1 health=2 message=6",
    "ResourceQuota": "metadata=1:ObjectMeta spec=2:ResourceQuotaSpec status=3:ResourceQuotaStatus",
    "ResourceQuotaSpec": "hard=1:{s,Quantity} scopes=2:[s] scopeSelector=3:ScopeSelector",
    "ResourceQuotaStatus": "hard=1:{s,Quantity} used=2:{s,Quantity}",
    "ResourceRequirements": "limits=1:{s,Quantity} requests=2:{s,Quantity}"
    " claims=3:[ResourceClaim]",
    "ResourceStatus": "name=1 resources=2:[ResourceHealth]",
    "SELinuxOptions": "user=1 role=2 type=3 level=4",
    "ScaleIOPersistentVolumeSource": "gateway=1 system=2 secretRef=3:SecretReference"
    " sslEnabled=4:b protectionDomain=5 storagePool=6 storageMode=7 volumeName=8 fsType=9"
    " readOnly=10:b",
    "ScaleIOVolumeSource": "gateway=1 system=2 secretRef=3:LocalObjectReference sslEnabled=4:b"
    " protectionDomain=5 storagePool=6 storageMode=7 volumeName=8 fsType=9 readOnly=10:b",
    "ScopeSelector": "matchExpressions=1:[ScopedResourceSelectorRequirement]",
    "ScopedResourceSelectorRequirement": "scopeName=1 operator=2 values=3:[s]",
    "SeccompProfile": "type=1 localhostProfile=2",
    "Secret": "metadata=1:ObjectMeta immutable=5:b data=2:{s,y} stringData=4:{s,s} type=3",
    "SecretEnvSource": "*=1:LocalObjectReference optional=2:b",
    "SecretKeySelector": "*=1:LocalObjectReference key=2 optional=3:b",
    "SecretProjection": "*=1:LocalObjectReference items=2:[KeyToPath] optional=4:b",
    "SecretReference": "name=1 namespace=2",
    "SecretVolumeSource": "secretName=1 items=2:[KeyToPath] defaultMode=3:i optional=4:b",
}
