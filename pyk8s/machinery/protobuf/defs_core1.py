"""core/v1 messages, part 1 (A..PersistentVolumeClaimTemplate).

Field numbers, JSON names and types are facts from upstream's
k8s.io/api/core/v1/generated.proto; the notation is described in schema.py.
"""

PACKAGE = "k8s.io.api.core.v1"

MESSAGES: dict[str, str] = {
    "AWSElasticBlockStoreVolumeSource": "volumeID=1 fsType=2 partition=3:i readOnly=4:b",
    "Affinity": "nodeAffinity=1:NodeAffinity podAffinity=2:PodAffinity"
    " podAntiAffinity=3:PodAntiAffinity",
    "AppArmorProfile": "type=1 localhostProfile=2",
    "AttachedVolume": "name=1 devicePath=2",
    "AzureDiskVolumeSource": "diskName=1 diskURI=2 cachingMode=3 fsType=4 readOnly=5:b kind=6",
    "AzureFilePersistentVolumeSource": "secretName=1 shareName=2 readOnly=3:b secretNamespace=4",
    "AzureFileVolumeSource": "secretName=1 shareName=2 readOnly=3:b",
    "Binding": "metadata=1:ObjectMeta target=2:ObjectReference",
    "CSIPersistentVolumeSource": "driver=1 volumeHandle=2 readOnly=3:b fsType=4"
    " volumeAttributes=5:{s,s} controllerPublishSecretRef=6:SecretReference"
    " nodeStageSecretRef=7:SecretReference nodePublishSecretRef=8:SecretReference"
    " controllerExpandSecretRef=9:SecretReference nodeExpandSecretRef=10:SecretReference",
    "CSIVolumeSource": "driver=1 readOnly=2:b fsType=3 volumeAttributes=4:{s,s}"
    " nodePublishSecretRef=5:LocalObjectReference",
    "Capabilities": "add=1:[s] drop=2:[s]",
    "CephFSPersistentVolumeSource": "monitors=1:[s] path=2 user=3 secretFile=4"
    " secretRef=5:SecretReference readOnly=6:b",
    "CephFSVolumeSource": "monitors=1:[s] path=2 user=3 secretFile=4"
    " secretRef=5:LocalObjectReference readOnly=6:b",
    "CinderPersistentVolumeSource": "volumeID=1 fsType=2 readOnly=3:b secretRef=4:SecretReference",
    "CinderVolumeSource": "volumeID=1 fsType=2 readOnly=3:b secretRef=4:LocalObjectReference",
    "ClientIPConfig": "timeoutSeconds=1:i",
    "ClusterTrustBundleProjection": "name=1 signerName=2 labelSelector=3:LabelSelector"
    " optional=5:b path=4",
    "ComponentCondition": "type=1 status=2 message=3 error=4",
    "ComponentStatus": "metadata=1:ObjectMeta conditions=2:[ComponentCondition]",
    "ConfigMap": "metadata=1:ObjectMeta immutable=4:b data=2:{s,s} binaryData=3:{s,y}",
    # `*` marks an embedded struct whose fields are inlined into the parent's JSON.
    "ConfigMapEnvSource": "*=1:LocalObjectReference optional=2:b",
    "ConfigMapKeySelector": "*=1:LocalObjectReference key=2 optional=3:b",
    "ConfigMapNodeConfigSource": "namespace=1 name=2 uid=3 resourceVersion=4 kubeletConfigKey=5",
    "ConfigMapProjection": "*=1:LocalObjectReference items=2:[KeyToPath] optional=4:b",
    "ConfigMapVolumeSource": "*=1:LocalObjectReference items=2:[KeyToPath] defaultMode=3:i"
    " optional=4:b",
    "Container": "name=1 image=2 command=3:[s] args=4:[s] workingDir=5 ports=6:[ContainerPort]"
    " envFrom=19:[EnvFromSource] env=7:[EnvVar] resources=8:ResourceRequirements"
    " resizePolicy=23:[ContainerResizePolicy] restartPolicy=24"
    " restartPolicyRules=25:[ContainerRestartRule] volumeMounts=9:[VolumeMount]"
    " volumeDevices=21:[VolumeDevice] livenessProbe=10:Probe readinessProbe=11:Probe"
    " startupProbe=22:Probe lifecycle=12:Lifecycle terminationMessagePath=13"
    " terminationMessagePolicy=20 imagePullPolicy=14 securityContext=15:SecurityContext"
    " stdin=16:b stdinOnce=17:b tty=18:b",
    "ContainerExtendedResourceRequest": "containerName=1 resourceName=2 requestName=3",
    "ContainerImage": "names=1:[s] sizeBytes=2:i",
    "ContainerPort": "name=1 hostPort=2:i containerPort=3:i protocol=4 hostIP=5",
    "ContainerResizePolicy": "resourceName=1 restartPolicy=2",
    "ContainerRestartRule": "action=1 exitCodes=2:ContainerRestartRuleOnExitCodes",
    "ContainerRestartRuleOnExitCodes": "operator=1 values=2:[i]",
    "ContainerState": "waiting=1:ContainerStateWaiting running=2:ContainerStateRunning"
    " terminated=3:ContainerStateTerminated",
    "ContainerStateRunning": "startedAt=1:Time",
    "ContainerStateTerminated": "exitCode=1:i signal=2:i reason=3 message=4 startedAt=5:Time"
    " finishedAt=6:Time containerID=7",
    "ContainerStateWaiting": "reason=1 message=2",
    "ContainerStatus": "name=1 state=2:ContainerState lastState=3:ContainerState ready=4:b"
    " restartCount=5:i image=6 imageID=7 containerID=8 started=9:b"
    " allocatedResources=10:{s,Quantity} resources=11:ResourceRequirements"
    " volumeMounts=12:[VolumeMountStatus] user=13:ContainerUser"
    " allocatedResourcesStatus=14:[ResourceStatus] stopSignal=15",
    "ContainerUser": "linux=1:LinuxContainerUser",
    "DaemonEndpoint": "Port=1:i",
    "DownwardAPIProjection": "items=1:[DownwardAPIVolumeFile]",
    "DownwardAPIVolumeFile": "path=1 fieldRef=2:ObjectFieldSelector"
    " resourceFieldRef=3:ResourceFieldSelector mode=4:i",
    "DownwardAPIVolumeSource": "items=1:[DownwardAPIVolumeFile] defaultMode=2:i",
    "EmptyDirVolumeSource": "medium=1 sizeLimit=2:Quantity",
    "EndpointAddress": "ip=1 hostname=3 nodeName=4 targetRef=2:ObjectReference",
    "EndpointPort": "name=1 port=2:i protocol=3 appProtocol=4",
    "EndpointSubset": "addresses=1:[EndpointAddress] notReadyAddresses=2:[EndpointAddress]"
    " ports=3:[EndpointPort]",
    "Endpoints": "metadata=1:ObjectMeta subsets=2:[EndpointSubset]",
    "EnvFromSource": "prefix=1 configMapRef=2:ConfigMapEnvSource secretRef=3:SecretEnvSource",
    "EnvVar": "name=1 value=2 valueFrom=3:EnvVarSource",
    "EnvVarSource": "fieldRef=1:ObjectFieldSelector resourceFieldRef=2:ResourceFieldSelector"
    " configMapKeyRef=3:ConfigMapKeySelector secretKeyRef=4:SecretKeySelector"
    " fileKeyRef=5:FileKeySelector",
    "EphemeralContainer": "*=1:EphemeralContainerCommon targetContainerName=2",
    "EphemeralVolumeSource": "volumeClaimTemplate=1:PersistentVolumeClaimTemplate",
    "Event": "metadata=1:ObjectMeta involvedObject=2:ObjectReference reason=3 message=4"
    " source=5:EventSource firstTimestamp=6:Time lastTimestamp=7:Time count=8:i type=9"
    " eventTime=10:MicroTime series=11:EventSeries action=12 related=13:ObjectReference"
    " reportingComponent=14 reportingInstance=15",
    "EventSeries": "count=1:i lastObservedTime=2:MicroTime",
    "EventSource": "component=1 host=2",
    "ExecAction": "command=1:[s]",
    "FCVolumeSource": "targetWWNs=1:[s] lun=2:i fsType=3 readOnly=4:b wwids=5:[s]",
    "FileKeySelector": "volumeName=1 path=2 key=3 optional=4:b",
    "FlexPersistentVolumeSource": "driver=1 fsType=2 secretRef=3:SecretReference readOnly=4:b"
    " options=5:{s,s}",
    "FlexVolumeSource": "driver=1 fsType=2 secretRef=3:LocalObjectReference readOnly=4:b"
    " options=5:{s,s}",
    "FlockerVolumeSource": "datasetName=1 datasetUUID=2",
    "GCEPersistentDiskVolumeSource": "pdName=1 fsType=2 partition=3:i readOnly=4:b",
    "GRPCAction": "port=1:i service=2",
    "GitRepoVolumeSource": "repository=1 revision=2 directory=3",
    "GlusterfsPersistentVolumeSource": "endpoints=1 path=2 readOnly=3:b endpointsNamespace=4",
    "GlusterfsVolumeSource": "endpoints=1 path=2 readOnly=3:b",
    "HTTPGetAction": "path=1 port=2:IntOrString host=3 scheme=4 httpHeaders=5:[HTTPHeader]",
    "HTTPHeader": "name=1 value=2",
    "HostAlias": "ip=1 hostnames=2:[s]",
    "HostIP": "ip=1",
    "HostPathVolumeSource": "path=1 type=2",
    "ISCSIPersistentVolumeSource": "targetPortal=1 iqn=2 lun=3:i iscsiInterface=4 fsType=5"
    " readOnly=6:b portals=7:[s] chapAuthDiscovery=8:b chapAuthSession=11:b"
    " secretRef=10:SecretReference initiatorName=12",
    "ISCSIVolumeSource": "targetPortal=1 iqn=2 lun=3:i iscsiInterface=4 fsType=5 readOnly=6:b"
    " portals=7:[s] chapAuthDiscovery=8:b chapAuthSession=11:b"
    " secretRef=10:LocalObjectReference initiatorName=12",
    "ImageVolumeSource": "reference=1 pullPolicy=2",
    "ImageVolumeStatus": "imageRef=1",
    "KeyToPath": "key=1 path=2 mode=3:i",
    "Lifecycle": "postStart=1:LifecycleHandler preStop=2:LifecycleHandler stopSignal=3",
    "LifecycleHandler": "exec=1:ExecAction httpGet=2:HTTPGetAction tcpSocket=3:TCPSocketAction"
    " sleep=4:SleepAction",
    "LimitRange": "metadata=1:ObjectMeta spec=2:LimitRangeSpec",
    "LimitRangeItem": "type=1 max=2:{s,Quantity} min=3:{s,Quantity} default=4:{s,Quantity}"
    " defaultRequest=5:{s,Quantity} maxLimitRequestRatio=6:{s,Quantity}",
    "LimitRangeSpec": "limits=1:[LimitRangeItem]",
    "LinuxContainerUser": "uid=1:i gid=2:i supplementalGroups=3:[i]",
    "LoadBalancerIngress": "ip=1 hostname=2 ipMode=3 ports=4:[PortStatus]",
    "LoadBalancerStatus": "ingress=1:[LoadBalancerIngress]",
    "LocalObjectReference": "name=1",
    "LocalVolumeSource": "path=1 fsType=2",
    "ModifyVolumeStatus": "targetVolumeAttributesClassName=1 status=2",
    "NFSVolumeSource": "server=1 path=2 readOnly=3:b",
    "Namespace": "metadata=1:ObjectMeta spec=2:NamespaceSpec status=3:NamespaceStatus",
    "NamespaceCondition": "type=1 status=2 lastTransitionTime=4:Time reason=5 message=6",
    "NamespaceSpec": "finalizers=1:[s]",
    "NamespaceStatus": "phase=1 conditions=2:[NamespaceCondition]",
    "Node": "metadata=1:ObjectMeta spec=2:NodeSpec status=3:NodeStatus",
    "NodeAddress": "type=1 address=2",
    "NodeAffinity": "requiredDuringSchedulingIgnoredDuringExecution=1:NodeSelector"
    " preferredDuringSchedulingIgnoredDuringExecution=2:[PreferredSchedulingTerm]",
    "NodeCondition": "type=1 status=2 lastHeartbeatTime=3:Time lastTransitionTime=4:Time"
    " reason=5 message=6",
    "NodeConfigSource": "configMap=2:ConfigMapNodeConfigSource",
    "NodeConfigStatus": "assigned=1:NodeConfigSource active=2:NodeConfigSource"
    " lastKnownGood=3:NodeConfigSource error=4",
    "NodeDaemonEndpoints": "kubeletEndpoint=1:DaemonEndpoint",
    "NodeFeatures": "supplementalGroupsPolicy=1:b containerUlimits=2:b",
    "NodeRuntimeHandler": "name=1 features=2:NodeRuntimeHandlerFeatures",
    "NodeRuntimeHandlerFeatures": "recursiveReadOnlyMounts=1:b userNamespaces=2:b",
    "NodeSelector": "nodeSelectorTerms=1:[NodeSelectorTerm]",
    "NodeSelectorRequirement": "key=1 operator=2 values=3:[s]",
    "NodeSelectorTerm": "matchExpressions=1:[NodeSelectorRequirement]"
    " matchFields=2:[NodeSelectorRequirement]",
    "NodeSpec": "podCIDR=1 podCIDRs=7:[s] providerID=3 unschedulable=4:b taints=5:[Taint]"
    " configSource=6:NodeConfigSource externalID=2",
    "NodeStatus": "capacity=1:{s,Quantity} allocatable=2:{s,Quantity} phase=3"
    " conditions=4:[NodeCondition] addresses=5:[NodeAddress]"
    " daemonEndpoints=6:NodeDaemonEndpoints nodeInfo=7:NodeSystemInfo"
    " images=8:[ContainerImage] volumesInUse=9:[s] volumesAttached=10:[AttachedVolume]"
    " config=11:NodeConfigStatus runtimeHandlers=12:[NodeRuntimeHandler]"
    " features=13:NodeFeatures declaredFeatures=14:[s]",
    "NodeSwapStatus": "capacity=1:i",
    "NodeSystemInfo": "machineID=1 systemUUID=2 bootID=3 kernelVersion=4 osImage=5"
    " containerRuntimeVersion=6 kubeletVersion=7 kubeProxyVersion=8 operatingSystem=9"
    " architecture=10 swap=11:NodeSwapStatus",
    "ObjectFieldSelector": "apiVersion=1 fieldPath=2",
    "ObjectReference": "kind=1 namespace=2 name=3 uid=4 apiVersion=5 resourceVersion=6 fieldPath=7",
    "PersistentVolume": "metadata=1:ObjectMeta spec=2:PersistentVolumeSpec"
    " status=3:PersistentVolumeStatus",
    "PersistentVolumeClaim": "metadata=1:ObjectMeta spec=2:PersistentVolumeClaimSpec"
    " status=3:PersistentVolumeClaimStatus",
    "PersistentVolumeClaimCondition": "type=1 status=2 lastProbeTime=3:Time"
    " lastTransitionTime=4:Time reason=5 message=6",
    "PersistentVolumeClaimSpec": "accessModes=1:[s] selector=4:LabelSelector"
    " resources=2:VolumeResourceRequirements volumeName=3 storageClassName=5 volumeMode=6"
    " dataSource=7:TypedLocalObjectReference dataSourceRef=8:TypedObjectReference"
    " volumeAttributesClassName=9",
    "PersistentVolumeClaimStatus": "phase=1 accessModes=2:[s] capacity=3:{s,Quantity}"
    " conditions=4:[PersistentVolumeClaimCondition] allocatedResources=5:{s,Quantity}"
    " allocatedResourceStatuses=7:{s,s} currentVolumeAttributesClassName=8"
    " modifyVolumeStatus=9:ModifyVolumeStatus",
    "PersistentVolumeClaimTemplate": "metadata=1:ObjectMeta spec=2:PersistentVolumeClaimSpec",
}

# EphemeralContainerCommon repeats Container's fields with the same numbers.
MESSAGES["EphemeralContainerCommon"] = MESSAGES["Container"]
