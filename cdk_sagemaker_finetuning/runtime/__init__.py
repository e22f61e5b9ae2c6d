"""Code that runs inside the library's Lambda functions (standard library and boto3 only).

The CLI and the tests import these modules too, so the deployed checks and the local ones are the same code.
Nothing here may import aws_cdk, pydantic or the rest of the package.
"""
