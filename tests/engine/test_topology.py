"""topology(): the elements and hops as a frozen DiGraph; layout(): layered positions as data."""

from __future__ import annotations

import networkx as nx
import pytest

import resources
from engine.scenario import loads
from engine.simulate import simulate
from engine.topology import layout, topology
from engine.trace import Flag


def graph_of(name: str) -> nx.DiGraph[str]:
    s = loads(resources.scenario_text(name))
    return topology(s, simulate(s))


def test_nodes_carry_their_attributes() -> None:
    g = graph_of("rfc3261-16-12-1-2-strict-proxy")
    assert set(g.nodes) == {"U1", "U2", "P1", "P2", "P3", "P4"}
    assert g.nodes["U1"]["kind"] == "ua"
    assert g.nodes["U1"]["role"] == "caller"
    assert g.nodes["U2"]["role"] == "callee"
    assert g.nodes["U2"]["contact"] == "sip:callee@u2.domain.com"
    assert g.nodes["P3"]["kind"] == "proxy"
    assert g.nodes["P3"]["profile"] == "rfc2543-strict"
    assert g.nodes["P3"]["profile_title"] == "RFC 2543 strict router"
    assert g.nodes["P4"]["aliases"] == ("domain.com",)
    assert g.nodes["P1"]["address"] == "udp:192.0.2.1:5060"
    assert g.graph["caller"] == "U1"
    assert g.graph["callee"] == "U2"
    assert g.graph["path"] == ("U1", "P1", "P2", "P3", "P4", "U2")


def test_edges_are_the_hops_with_steps_and_flags() -> None:
    s = loads(resources.scenario_text("rfc3261-16-12-1-2-strict-proxy"))
    trace = simulate(s)
    g = topology(s, trace)
    p4_p3 = g.edges["P4", "P3"]
    for index in p4_p3["steps"]:
        step = trace.steps[index]
        assert (step.element, step.next_element) == ("P4", "P3")
    assert "loose-to-strict" in p4_p3["flags"]
    assert set(p4_p3["kinds"]) == {"request", "response"}
    assert "BYE" in p4_p3["methods"]
    assert list(p4_p3["steps"]) == sorted(p4_p3["steps"])
    # every step that sends somewhere is on exactly the edge it names
    for step in trace.steps:
        if step.next_element and not step.path:
            assert step.index in g.edges[step.element, step.next_element]["steps"]


def test_summarised_responses_draw_their_whole_path() -> None:
    g = graph_of("five-proxy-chain")
    # the BYE from Bob is answered by Alice in one summarised step along P1..P5
    assert g.has_edge("Alice", "P1")
    assert g.has_edge("P5", "Bob")
    assert "response" in g.edges["P1", "P2"]["kinds"]


def test_spiral_gives_a_self_loop() -> None:
    g = graph_of("double-rr-missing-r2")
    assert g.has_edge("P1", "P1")
    assert "local-route-removed" in g.edges["P1", "P1"]["flags"]
    assert Flag.SPIRAL.value in g.edges["P1", "Bob"]["flags"]


def test_graph_is_frozen() -> None:
    g = graph_of("tour")
    assert nx.is_frozen(g)
    with pytest.raises(nx.NetworkXError):
        g.add_node("X")


def test_layout_puts_the_path_in_order() -> None:
    g = graph_of("five-proxy-chain")
    pos = layout(g)
    assert pos["Alice"] == (0.0, 0.0)
    assert [pos[f"P{i}"] for i in range(1, 6)] == [(float(i), 0.0) for i in range(1, 6)]
    assert pos["Bob"] == (6.0, 0.0)
    assert layout(g) == pos  # stable
    assert all(isinstance(v, float) for xy in pos.values() for v in xy)


def test_layout_places_elements_off_the_path() -> None:
    # When the INVITE never reaches the callee, the callee still goes to the right.
    s = loads(resources.scenario_text("subscribe-notify"))
    pos = layout(topology(s, simulate(s)))
    assert pos == {"Alice": (0.0, 0.0), "P1": (1.0, 0.0), "Bob": (2.0, 0.0)}
    g = graph_of("deny-preloaded-route")  # the INVITE never reaches GW
    pos = layout(g)
    assert pos["Mallory"] == (0.0, 0.0)
    assert pos["P1"] == (1.0, 0.0)
    assert pos["GW"][0] == 2.0  # the callee is still on the right


def test_layout_of_an_unreached_extra_element() -> None:
    from dataclasses import replace

    from engine.proxy import parse_socket
    from engine.scenario import ProxyNode

    s = loads(resources.scenario_text("no-record-route"))
    spare = ProxyNode(name="Spare", listen=(parse_socket("udp:192.0.2.99:5060"),))
    s = replace(s, proxies=(*s.proxies, spare))
    pos = layout(topology(s, simulate(s)))
    assert pos["Alice"][0] == 0.0
    assert pos["Bob"][0] == max(x for x, _ in pos.values())
    assert pos["Spare"][1] >= 1.0  # below the path row
    assert len(set(pos.values())) == len(pos)  # no two nodes on one spot


@pytest.mark.parametrize("name", resources.list_scenarios())
def test_every_library_layout_is_complete_and_distinct(name: str) -> None:
    g = graph_of(name)
    pos = layout(g)
    assert set(pos) == set(g.nodes)
    assert len(set(pos.values())) == len(pos)
    assert pos[g.graph["caller"]][0] == 0.0
