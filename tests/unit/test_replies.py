import pytest

from skyq.agent.actions import ClickAction, CompleteAction, InputTextAction
from skyq.agent.replies import ProtocolViolation, parse_step_reply, parse_verify_reply

IDS = frozenset({"K1", "K2"})


def test_actions_are_parsed_in_order():
    plan = parse_step_reply(
        '{"actions": [{"action_type": "input_text", "id": "K1", "text": "x"},'
        ' {"action_type": "click", "id": "K2", "reasoning": "submit"}]}',
        IDS,
    )
    assert isinstance(plan.actions[0], InputTextAction) and plan.actions[0].text == "x"
    assert isinstance(plan.actions[1], ClickAction) and plan.actions[1].reasoning == "submit"


def test_code_fences_and_a_single_action_object_are_accepted():
    plan = parse_step_reply('```json\n{"action_type": "complete", "data": [1]}\n```', IDS)
    assert isinstance(plan.actions[0], CompleteAction) and plan.actions[0].data == [1]


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("click K1", "not valid JSON"),
        ('{"action": "click"}', '"actions" list'),
        ('{"actions": [{"action_type": "fly"}]}', "unknown action_type 'fly'"),
        ('{"actions": [{"action_type": "click", "id": "K9"}]}', "unknown element id 'K9'"),
        ('{"actions": [{"action_type": "click"}]}', "actions.0.click.id: Field required"),
        ('{"actions": [{"action_type": "wait", "seconds": 99}]}', "less than or equal to 30"),
        ('{"actions": []}', "no actions"),
    ],
)
def test_violations_say_what_is_wrong(reply, problem):
    with pytest.raises(ProtocolViolation, match=problem.replace("(", r"\(").replace(".", r"\.")):
        parse_step_reply(reply, IDS)


def test_only_mapped_error_codes_count():
    plan = parse_step_reply(
        '{"actions": [], "errors": [{"error_code": "OUT_OF_STOCK", "reasoning": "sold out"},'
        ' {"error_code": "MADE_UP"}]}',
        IDS,
        frozenset({"OUT_OF_STOCK"}),
    )
    assert plan.errors == [{"error_code": "OUT_OF_STOCK", "reasoning": "sold out"}]


def test_verify_reply():
    assert parse_verify_reply('{"user_goal_achieved": false, "reasoning": "no"}') == (False, "no")
    with pytest.raises(ProtocolViolation):
        parse_verify_reply('{"user_goal_achieved": "yes"}')
