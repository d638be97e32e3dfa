"""How CloudTrail records an S3 request (trail.py's S3 part): its eventName (ListBuckets, CreateBucket, PutBucketPolicy,
ListObjects …, as CloudTrail names the operation, not as IAM names the action), its category (object-level calls and
bucket-content listings are "Data" events, which LookupEvents leaves out), its requestParameters (bucketName, Host,
key, the query's subresources and listing parameters, a bucket policy parsed, a bucket's LocationConstraint) and its
resources.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html: a ListObjectsV2 is recorded as
ListObjects with "list-type": "2" among its parameters; a GetBucketAcl's parameters are {"bucketName", "Host", "acl": ""}.
"""

import json
import re
import urllib.parse
from xml.sax.saxutils import unescape

from actions import NO_RESOURCE

# A bucket subresource's operation, by method: the name after the verb (GET Get…, PUT Put…, DELETE Delete…).
BUCKET_SUBRESOURCES = {
    "accelerate": "BucketAccelerateConfiguration", "acl": "BucketAcl", "analytics": "BucketAnalyticsConfiguration",
    "cors": "BucketCors", "encryption": "BucketEncryption", "intelligent-tiering": "BucketIntelligentTieringConfiguration",
    "inventory": "BucketInventoryConfiguration", "lifecycle": "BucketLifecycle", "logging": "BucketLogging",
    "metrics": "BucketMetricsConfiguration", "notification": "BucketNotification", "object-lock": "ObjectLockConfiguration",
    "ownershipControls": "BucketOwnershipControls", "policyStatus": "BucketPolicyStatus", "policy": "BucketPolicy",
    "publicAccessBlock": "BucketPublicAccessBlock", "replication": "BucketReplication", "requestPayment": "BucketRequestPayment",
    "tagging": "BucketTagging", "versioning": "BucketVersioning", "website": "BucketWebsite",
}
# Bucket-level calls that read or change a bucket's content: data events.
BUCKET_DATA = {("GET", ""): "ListObjects", ("GET", "versions"): "ListObjectVersions", ("GET", "uploads"): "ListMultipartUploads",
               ("POST", "delete"): "DeleteObjects"}
BUCKET_PLAIN = {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket", "GET": "ListObjects"}
OBJECT_SUBRESOURCES = {"acl": "ObjectAcl", "tagging": "ObjectTagging", "retention": "ObjectRetention", "legal-hold": "ObjectLegalHold",
                       "attributes": "ObjectAttributes", "torrent": "ObjectTorrent"}
VERBS = {"GET": "Get", "HEAD": "Get", "PUT": "Put", "DELETE": "Delete", "POST": "Put"}
# Query parameters that are the request's signature (a presigned URL's), not its parameters.
SIGNING = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature",
           "X-Amz-Security-Token", "x-id")
POLICY_LIMIT = 64 * 1024  # a bucket policy is at most 20 KB: anything longer is not parsed


def split(resource):
    """(bucket, key) of moto's S3 resource (arn:aws:s3:::b or arn:aws:s3:::b/key): ("", "") for ListBuckets."""
    if resource in NO_RESOURCE or ":::" not in resource:
        return "", ""
    bucket, _, key = resource.split(":::", 1)[1].partition("/")
    return bucket, key


def query_of(path):
    """The request's query parameters, in order, the signing ones left out."""
    query = urllib.parse.urlsplit(path).query
    return [(k, v) for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True) if k not in SIGNING]


def event_name(method, bucket, key, keys, headers):
    """CloudTrail's eventName of an S3 request, and whether it is a data event."""
    if not bucket:
        return "ListBuckets", False
    if key:
        return object_event(method, keys, headers), True
    for sub in keys:
        if (method, sub) in BUCKET_DATA:
            return BUCKET_DATA[(method, sub)], True
        if sub == "location" and method == "GET":
            return "GetBucketLocation", False
        if sub in BUCKET_SUBRESOURCES:
            return VERBS.get(method, "Get") + BUCKET_SUBRESOURCES[sub], False
    name = BUCKET_PLAIN.get(method, "ListObjects")
    return name, name == "ListObjects"


def object_event(method, keys, headers):
    copied = headers.get("x-amz-copy-source") is not None
    if "uploadId" in keys:
        return {"PUT": "UploadPartCopy" if copied else "UploadPart", "POST": "CompleteMultipartUpload",
                "DELETE": "AbortMultipartUpload"}.get(method, "ListParts")
    if method == "POST":
        return "CreateMultipartUpload" if "uploads" in keys else "RestoreObject" if "restore" in keys else "SelectObjectContent"
    for sub in keys:
        if sub in OBJECT_SUBRESOURCES:
            return VERBS.get(method, "Get") + OBJECT_SUBRESOURCES[sub]
    if method == "PUT":
        return "CopyObject" if copied else "PutObject"
    return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method, "GetObject")


def describe(method, path, resource, headers, body, account):
    """(eventName, category, requestParameters, resources) of an S3 request: moto's resource names its bucket and key."""
    bucket, key = split(resource)
    query = query_of(path)
    name, data = event_name(method, bucket, key, [k for k, _ in query], headers)
    params = dict(query)
    if bucket:
        params["bucketName"] = bucket
    host = headers.get("Host")
    if host:
        params["Host"] = host
    if key:
        params["key"] = key
    extra_parameters(name, body, params)
    resources = []
    if bucket:
        resources.append({"accountId": account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"})
    if key:
        resources.insert(0, {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"})
    return name, "Data" if data else "Management", params, resources


def extra_parameters(name, body, params):
    """What CloudTrail reads from a bucket call's body: PutBucketPolicy's policy (parsed), CreateBucket's region."""
    if name not in ("PutBucketPolicy", "CreateBucket") or not body or len(body) > POLICY_LIMIT:
        return
    body = body.encode() if isinstance(body, str) else body
    if name == "PutBucketPolicy":
        try:
            params["bucketPolicy"] = json.loads(body)
        except ValueError:
            pass
    elif name == "CreateBucket":
        found = re.search(rb"<LocationConstraint>([^<]*)</LocationConstraint>", body)
        if found:
            params["CreateBucketConfiguration"] = {"LocationConstraint": unescape(found.group(1).decode("utf-8", "replace"))}
