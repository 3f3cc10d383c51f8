"""Who reads a config: the tokens that read it, the version each read last, and when."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from configs import consumers, selectors
from configs.api.access import readable_config, reading_environment
from configs.api.serializers import environment_parameter, error_responses


class ConsumerSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The token's name: what it is for.")
    owner = serializers.CharField(help_text="Username of the token's owner.")
    last_read_at = serializers.DateTimeField(
        help_text="When it last read the config (recorded at most about once a minute)."
    )
    last_version = serializers.IntegerField(help_text="The version it read then.")


class ConsumerList(APIView):
    """The tokens that read this config in one environment (each token reads one), the one read
    most recently first (revoked ones left out); anyone who may read the namespace may see
    them."""

    pagination_class = None

    @extend_schema(
        operation_id="config_consumers",
        parameters=[environment_parameter()],
        responses={200: ConsumerSerializer(many=True), **error_responses(401, 404, 429)},
    )
    def get(self, request, namespace: str, key: str):
        environment = reading_environment(request)
        config = readable_config(request, namespace, key)
        readers = consumers.consumers_of(
            config=config,
            live=selectors.live_version(config, environment=environment),
            environment=environment,
            now=timezone.now(),
        )
        return Response(ConsumerSerializer(readers, many=True).data)
