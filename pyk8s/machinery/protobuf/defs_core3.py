"""core/v1 messages, part 3 (SecurityContext..WorkloadReference).

Field numbers, JSON names and types are facts from upstream's
k8s.io/api/core/v1/generated.proto; the notation is described in schema.py.
"""

PACKAGE = "k8s.io.api.core.v1"

MESSAGES: dict[str, str] = {
    "SecurityContext": "capabilities=1:Capabilities privileged=2:b"
    " seLinuxOptions=3:SELinuxOptions windowsOptions=10:WindowsSecurityContextOptions"
    " runAsUser=4:i runAsGroup=8:i runAsNonRoot=5:b readOnlyRootFilesystem=6:b"
    " allowPrivilegeEscalation=7:b procMount=9 seccompProfile=11:SeccompProfile"
    " appArmorProfile=12:AppArmorProfile ulimits=13:[Ulimit]",
    "SerializedReference": "reference=1:ObjectReference",
    "Service": "metadata=1:ObjectMeta spec=2:ServiceSpec status=3:ServiceStatus",
    "ServiceAccount": "metadata=1:ObjectMeta secrets=2:[ObjectReference]"
    " imagePullSecrets=3:[LocalObjectReference] automountServiceAccountToken=4:b",
    "ServiceAccountTokenProjection": "audience=1 expirationSeconds=2:i path=3",
    "ServicePort": "name=1 protocol=2 appProtocol=6 port=3:i targetPort=4:IntOrString nodePort=5:i",
    "ServiceSpec": "ports=1:[ServicePort] selector=2:{s,s} clusterIP=3 clusterIPs=18:[s]"
    " type=4 externalIPs=5:[s] sessionAffinity=7 loadBalancerIP=8"
    " loadBalancerSourceRanges=9:[s] externalName=10 externalTrafficPolicy=11"
    " healthCheckNodePort=12:i publishNotReadyAddresses=13:b"
    " sessionAffinityConfig=14:SessionAffinityConfig ipFamilies=19:[s] ipFamilyPolicy=17"
    " allocateLoadBalancerNodePorts=20:b loadBalancerClass=21 internalTrafficPolicy=22"
    " trafficDistribution=23",
    "ServiceStatus": "loadBalancer=1:LoadBalancerStatus conditions=2:[Condition]",
    "SessionAffinityConfig": "clientIP=1:ClientIPConfig",
    "SleepAction": "seconds=1:i",
    "StorageOSPersistentVolumeSource": "volumeName=1 volumeNamespace=2 fsType=3 readOnly=4:b"
    " secretRef=5:ObjectReference",
    "StorageOSVolumeSource": "volumeName=1 volumeNamespace=2 fsType=3 readOnly=4:b"
    " secretRef=5:LocalObjectReference",
    "Sysctl": "name=1 value=2",
    "TCPSocketAction": "port=1:IntOrString host=2",
    "Taint": "key=1 value=2 effect=3 timeAdded=4:Time",
    "Toleration": "key=1 operator=2 value=3 effect=4 tolerationSeconds=5:i",
    "TopologySelectorLabelRequirement": "key=1 values=2:[s]",
    "TopologySelectorTerm": "matchLabelExpressions=1:[TopologySelectorLabelRequirement]",
    "TopologySpreadConstraint": "maxSkew=1:i topologyKey=2 whenUnsatisfiable=3"
    " labelSelector=4:LabelSelector minDomains=5:i nodeAffinityPolicy=6 nodeTaintsPolicy=7"
    " matchLabelKeys=8:[s]",
    "TypedLocalObjectReference": "apiGroup=1 kind=2 name=3",
    "TypedObjectReference": "apiGroup=1 kind=2 name=3 namespace=4",
    "Ulimit": "name=1 hard=2:i soft=3:i",
    "Volume": "name=1 *=2:VolumeSource",
    "VolumeDevice": "name=1 devicePath=2",
    "VolumeMount": "name=1 readOnly=2:b recursiveReadOnly=7 mountPath=3 subPath=4"
    " mountPropagation=5 subPathExpr=6",
    "VolumeMountStatus": "name=1 mountPath=2 readOnly=3:b recursiveReadOnly=4"
    " volumeStatus=5:VolumeStatus",
    "VolumeNodeAffinity": "required=1:NodeSelector",
    "VolumeProjection": "secret=1:SecretProjection downwardAPI=2:DownwardAPIProjection"
    " configMap=3:ConfigMapProjection serviceAccountToken=4:ServiceAccountTokenProjection"
    " clusterTrustBundle=5:ClusterTrustBundleProjection podCertificate=6:PodCertificateProjection",
    "VolumeResourceRequirements": "limits=1:{s,Quantity} requests=2:{s,Quantity}",
    "VolumeSource": "hostPath=1:HostPathVolumeSource emptyDir=2:EmptyDirVolumeSource"
    " gcePersistentDisk=3:GCEPersistentDiskVolumeSource"
    " awsElasticBlockStore=4:AWSElasticBlockStoreVolumeSource gitRepo=5:GitRepoVolumeSource"
    " secret=6:SecretVolumeSource nfs=7:NFSVolumeSource iscsi=8:ISCSIVolumeSource"
    " glusterfs=9:GlusterfsVolumeSource"
    " persistentVolumeClaim=10:PersistentVolumeClaimVolumeSource rbd=11:RBDVolumeSource"
    " flexVolume=12:FlexVolumeSource cinder=13:CinderVolumeSource"
    " cephfs=14:CephFSVolumeSource flocker=15:FlockerVolumeSource"
    " downwardAPI=16:DownwardAPIVolumeSource fc=17:FCVolumeSource"
    " azureFile=18:AzureFileVolumeSource configMap=19:ConfigMapVolumeSource"
    " vsphereVolume=20:VsphereVirtualDiskVolumeSource quobyte=21:QuobyteVolumeSource"
    " azureDisk=22:AzureDiskVolumeSource"
    " photonPersistentDisk=23:PhotonPersistentDiskVolumeSource"
    " projected=26:ProjectedVolumeSource portworxVolume=24:PortworxVolumeSource"
    " scaleIO=25:ScaleIOVolumeSource storageos=27:StorageOSVolumeSource"
    " csi=28:CSIVolumeSource ephemeral=29:EphemeralVolumeSource image=30:ImageVolumeSource",
    "VolumeStatus": "image=1:ImageVolumeStatus",
    "VsphereVirtualDiskVolumeSource": "volumePath=1 fsType=2 storagePolicyName=3 storagePolicyID=4",
    "WeightedPodAffinityTerm": "weight=1:i podAffinityTerm=2:PodAffinityTerm",
    "WindowsSecurityContextOptions": "gmsaCredentialSpecName=1 gmsaCredentialSpec=2"
    " runAsUserName=3 hostProcess=4:b",
    "WorkloadReference": "name=1 podGroup=2 podGroupReplicaKey=3",
}
