"""``routelab config SCENARIO``: the kamailio.cfg of each proxy of a scenario.

Printed to standard output (each config after a ``# ==> NAME.cfg <==`` line when there are
several), or written into a folder with ``-o DIR``, one file a proxy.  ``--proxy NAME`` picks
one proxy.  The configs are :func:`engine.kamcfg.scenario_configs`, the ones the app's Config
tab shows.  Bad input gives one line and exit status 2 (:class:`gui.cli.UsageError`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.kamcfg import ConfigFile, scenario_configs
from engine.scenario import loads
from gui.cli import UsageError


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``config`` subcommand to the ``routelab`` argument parser."""
    p = sub.add_parser(
        "config",
        help="print or write the kamailio.cfg of each proxy of a scenario",
        description=(
            "The kamailio.cfg that runs each proxy of a scenario on Kamailio 5.6 (its sockets, "
            "aliases, rr and outbound settings and the request_route of its profile), the one "
            "the app's Config tab shows. SCENARIO is a file or the name of a library scenario."
        ),
    )
    p.add_argument("scenario", metavar="SCENARIO", help="a scenario file or a library name")
    p.add_argument("--proxy", metavar="NAME", help="only this proxy")
    p.add_argument(
        "-o", "--output", metavar="DIR", help="write NAME.cfg files into DIR instead of printing"
    )
    p.set_defaults(func=_cmd_config)


def pick(
    configs: tuple[ConfigFile, ...], names: tuple[str, ...], proxy: str | None
) -> list[ConfigFile]:
    """The configs asked for: all, or the one of proxy ``proxy`` (names in any case)."""
    if proxy is None:
        return list(configs)
    for name, config in zip(names, configs, strict=True):
        if name.lower() == proxy.lower():
            return [config]
    known = ", ".join(names) or "none"
    raise UsageError(f"--proxy {proxy}: the scenario has no such proxy (its proxies: {known})")


def _cmd_config(args: argparse.Namespace) -> int:
    from gui.cli_trace import read_scenario_text

    scenario = loads(read_scenario_text(args.scenario))
    names = tuple(p.name for p in scenario.proxies)
    chosen = pick(scenario_configs(scenario), names, args.proxy)
    if not chosen:
        raise UsageError(f"{args.scenario}: the scenario has no proxies")
    if args.output is None:
        for number, config in enumerate(chosen):
            if len(chosen) > 1:
                sys.stdout.write(("\n" if number else "") + f"# ==> {config.name} <==\n")
            sys.stdout.write(config.text)
        return 0
    folder = Path(args.output)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"-o {folder}: not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for config in chosen:
            (folder / config.name).write_text(config.text, encoding="utf-8")
            print(f"wrote {folder / config.name}", file=sys.stderr)
    except OSError as exc:
        raise UsageError(f"{exc.filename or folder}: {exc.strerror or exc}") from None
    return 0


__all__ = ["add_parsers", "pick"]
