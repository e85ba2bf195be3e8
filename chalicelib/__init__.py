"""ClusterXchange back end: the code packaged with every Lambda function."""
