"""What a signed request asks, as IAM reads it: its IAM action and resource as AWS names them, and its query form.

moto passes authorize.py's check an action and resource of its own: for S3 it names some actions differently from AWS
(HeadBucket, ?publicAccessBlock, DELETE ?tagging …) or not at all, for IAM it passes the resource "*". Here they are
corrected (s3_action, iam_resource); the form's values, lists (`X.member.N`) and tags are read (form_value, members,
request_tags); and an S3 request's bucket and its listing's context keys (s3_bucket_name, s3_list_keys).
"""

import urllib.parse

NO_RESOURCE = ("*", "arn:aws:s3:::*")  # actions without a resource (s3:ListAllMyBuckets): none in the message


def form_value(data, key):
    value = data.get(key)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def members(data, prefix, field=None):
    """Values of a query list (`Tags.member.N.Key`, `TransitiveTagKeys.member.N`), in order."""
    found, n = [], 1
    while True:
        value = form_value(data, f"{prefix}.member.{n}" + (f".{field}" if field else ""))
        if value is None:
            return found
        found.append(value)
        n += 1


def request_tags(data):
    """The tags a request carries (IAM CreateUser/TagUser/CreateRole/TagRole, STS AssumeRole): {key: value}."""
    keys, values = members(data, "Tags", "Key"), members(data, "Tags", "Value")
    return dict(zip(keys, values + [""] * (len(keys) - len(values)), strict=True))


# -- S3's and IAM's resources and actions ------------------------------------------------------------

# The IAM action of each S3 request, by resource level, method and subresource (the first found in the query);
# moto 5.2.5 names some differently (HeadBucket, publicAccessBlock, encryption …) or not at all.
S3_BUCKET_ACTIONS = {
    "GET": [
        ("accelerate", "GetAccelerateConfiguration"), ("acl", "GetBucketAcl"), ("analytics", "GetAnalyticsConfiguration"),
        ("cors", "GetBucketCORS"), ("encryption", "GetEncryptionConfiguration"),
        ("intelligent-tiering", "GetIntelligentTieringConfiguration"), ("inventory", "GetInventoryConfiguration"),
        ("lifecycle", "GetLifecycleConfiguration"), ("location", "GetBucketLocation"), ("logging", "GetBucketLogging"),
        ("metrics", "GetMetricsConfiguration"), ("notification", "GetBucketNotification"),
        ("object-lock", "GetBucketObjectLockConfiguration"), ("ownershipControls", "GetBucketOwnershipControls"),
        ("policyStatus", "GetBucketPolicyStatus"), ("policy", "GetBucketPolicy"),
        ("publicAccessBlock", "GetBucketPublicAccessBlock"), ("replication", "GetReplicationConfiguration"),
        ("requestPayment", "GetBucketRequestPayment"), ("tagging", "GetBucketTagging"),
        ("uploads", "ListBucketMultipartUploads"), ("versioning", "GetBucketVersioning"), ("versions", "ListBucketVersions"),
        ("website", "GetBucketWebsite"), ("", "ListBucket"),
    ],
    "HEAD": [("", "ListBucket")],
    "PUT": [
        ("accelerate", "PutAccelerateConfiguration"), ("acl", "PutBucketAcl"), ("analytics", "PutAnalyticsConfiguration"),
        ("cors", "PutBucketCORS"), ("encryption", "PutEncryptionConfiguration"),
        ("intelligent-tiering", "PutIntelligentTieringConfiguration"), ("inventory", "PutInventoryConfiguration"),
        ("lifecycle", "PutLifecycleConfiguration"), ("logging", "PutBucketLogging"), ("metrics", "PutMetricsConfiguration"),
        ("notification", "PutBucketNotification"), ("object-lock", "PutBucketObjectLockConfiguration"),
        ("ownershipControls", "PutBucketOwnershipControls"), ("policy", "PutBucketPolicy"),
        ("publicAccessBlock", "PutBucketPublicAccessBlock"), ("replication", "PutReplicationConfiguration"),
        ("requestPayment", "PutBucketRequestPayment"), ("tagging", "PutBucketTagging"), ("versioning", "PutBucketVersioning"),
        ("website", "PutBucketWebsite"), ("", "CreateBucket"),
    ],
    "DELETE": [
        ("analytics", "PutAnalyticsConfiguration"), ("cors", "PutBucketCORS"), ("encryption", "PutEncryptionConfiguration"),
        ("intelligent-tiering", "PutIntelligentTieringConfiguration"), ("inventory", "PutInventoryConfiguration"),
        ("lifecycle", "PutLifecycleConfiguration"), ("metrics", "PutMetricsConfiguration"),
        ("ownershipControls", "PutBucketOwnershipControls"), ("policy", "DeleteBucketPolicy"),
        ("publicAccessBlock", "PutBucketPublicAccessBlock"), ("replication", "PutReplicationConfiguration"),
        ("tagging", "PutBucketTagging"), ("website", "DeleteBucketWebsite"), ("", "DeleteBucket"),
    ],
    "POST": [("delete", "DeleteObject"), ("", "PutObject")],
}
# Object actions: (subresource, action, action with versionId).
S3_OBJECT_ACTIONS = {
    "GET": [
        ("acl", "GetObjectAcl", "GetObjectVersionAcl"), ("tagging", "GetObjectTagging", "GetObjectVersionTagging"),
        ("attributes", "GetObjectAttributes", "GetObjectVersionAttributes"), ("legal-hold", "GetObjectLegalHold", None),
        ("retention", "GetObjectRetention", None), ("torrent", "GetObjectTorrent", "GetObjectVersionTorrent"),
        ("uploadId", "ListMultipartUploadParts", None), ("", "GetObject", "GetObjectVersion"),
    ],
    "HEAD": [("", "GetObject", "GetObjectVersion")],
    "PUT": [
        ("acl", "PutObjectAcl", "PutObjectVersionAcl"), ("tagging", "PutObjectTagging", "PutObjectVersionTagging"),
        ("legal-hold", "PutObjectLegalHold", None), ("retention", "PutObjectRetention", None), ("", "PutObject", None),
    ],
    "DELETE": [
        ("tagging", "DeleteObjectTagging", "DeleteObjectVersionTagging"), ("uploadId", "AbortMultipartUpload", None),
        ("", "DeleteObject", "DeleteObjectVersion"),
    ],
    "POST": [("restore", "RestoreObject", None), ("select", "GetObject", None), ("", "PutObject", None)],
}


def s3_action(method, path, resource, moto_action):
    """The IAM action of an S3 request: moto's, corrected where it differs from AWS's (HeadBucket is s3:ListBucket,
    ?publicAccessBlock s3:PutBucketPublicAccessBlock, DELETE ?tagging s3:PutBucketTagging …)."""
    if resource in NO_RESOURCE:
        return moto_action
    keys = set(urllib.parse.parse_qs(urllib.parse.urlsplit(path).query, keep_blank_values=True))
    if "/" not in resource.split(":::", 1)[-1]:
        for sub, action in S3_BUCKET_ACTIONS.get(method, []):
            if not sub or sub in keys:
                return f"s3:{action}"
        return moto_action
    for sub, action, versioned in S3_OBJECT_ACTIONS.get(method, []):
        if not sub or sub in keys:
            return f"s3:{versioned if versioned and 'versionId' in keys else action}"
    return moto_action


def s3_bucket_name(resource):
    """The bucket an S3 request's resource names (arn:aws:s3:::b or arn:aws:s3:::b/key), or None (ListAllMyBuckets)."""
    if resource in NO_RESOURCE or ":::" not in resource:
        return None
    return resource.split(":::", 1)[1].split("/", 1)[0] or None


# The condition keys of a listing (s3:ListBucket is ListObjects and ListObjectsV2; s3:ListBucketVersions), from its
# query parameters (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
S3_LIST_KEYS = ("prefix", "delimiter", "max-keys")


def s3_list_keys(path, action):
    """s3:prefix, s3:delimiter and s3:max-keys of a listing request that carries them (as AWS, only then)."""
    if action not in ("s3:ListBucket", "s3:ListBucketVersions"):
        return {}
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query, keep_blank_values=True)
    return {f"s3:{key}": query[key][0] for key in S3_LIST_KEYS if key in query}


# IAM actions on the caller itself when they name no user.
SELF_USER_ACTIONS = {
    "CreateAccessKey", "DeleteAccessKey", "ListAccessKeys", "UpdateAccessKey", "GetUser", "ChangePassword",
    "ListMFADevices", "ListSigningCertificates", "ListSSHPublicKeys", "ListServiceSpecificCredentials",
}


def iam_resource(iam, data, action, caller):
    """The resource of an IAM request (moto passes "*"): the user, role, group or policy it names, else "*"."""
    account, path = iam.account_id, form_value(data, "Path") or "/"
    user_name, role_name = form_value(data, "UserName"), form_value(data, "RoleName")
    if user_name:
        user = iam.users.get(user_name)
        return user.arn if user is not None else f"arn:aws:iam::{account}:user{path}{user_name}"
    if role_name:
        role = next((r for r in iam.roles.values() if r.name == role_name), None)
        return role.arn if role is not None else f"arn:aws:iam::{account}:role{path}{role_name}"
    group_name = form_value(data, "GroupName")
    if group_name:
        group = iam.groups.get(group_name)
        return group.arn if group is not None else f"arn:aws:iam::{account}:group{path}{group_name}"
    name = action.split(":", 1)[1]
    if name == "CreatePolicy" and form_value(data, "PolicyName"):
        return f"arn:aws:iam::{account}:policy{path}{form_value(data, 'PolicyName')}"
    if form_value(data, "PolicyArn"):
        return form_value(data, "PolicyArn")
    if name in SELF_USER_ACTIONS and caller.user is not None:
        return caller.arn
    return "*"
