from tests.plugins.graphql import GraphQL
from tests.plugins.world import World

ME = "query { me { user { email } actingTenant { slug } role } }"


async def test_me_names_the_user_and_acting_tenant(gql: GraphQL, world: World) -> None:
    actor = world.actor("startup_admin")

    result = await gql(actor, ME)

    assert "errors" not in result
    assert result["data"]["me"] == {
        "user": {"email": actor.email},
        "actingTenant": {"slug": world.slugs["startup"]},
        "role": "ADMIN",
    }
