"""`pipeline completion bash|zsh`: a completion script generated from the argparse tree.

The script holds, per command path ("pipeline", "pipeline dlq", ...), its subcommands and its
options; at completion time it walks the words typed so far down that tree, so nested
subcommands (`pipeline offsets reset --gr<TAB>`) complete with their own options.
"""

from __future__ import annotations

import argparse

SHELLS = ("bash", "zsh")


def command_tree(parser: argparse.ArgumentParser, path: str = "pipeline") -> dict:
    """{path: (subcommand names, option strings)} for `parser` and every parser under it."""
    subcommands: list[str] = []
    options: list[str] = []
    tree: dict[str, tuple[list[str], list[str]]] = {path: (subcommands, options)}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                subcommands.append(name)
                tree.update(command_tree(child, f"{path} {name}"))
        else:
            options += [o for o in action.option_strings if o.startswith("--") or len(o) == 2]
    return tree


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    if shell not in SHELLS:
        raise ValueError(f"shell {shell!r}: use one of {', '.join(SHELLS)}")
    tree = command_tree(parser)
    subs = _case(tree, 0)
    opts = _case(tree, 1)
    return (_BASH if shell == "bash" else _ZSH).replace("@SUBS@", subs).replace("@OPTS@", opts)


def _case(tree: dict, index: int) -> str:
    lines = []
    for path, entry in sorted(tree.items()):
        words = " ".join(sorted(entry[index]))
        if words:
            lines.append(f'        "{path}") echo "{words}" ;;')
    return "\n".join(lines)


_FUNCTIONS = """\
_pipeline_subcommands() {
    case "$1" in
@SUBS@
    esac
}

_pipeline_options() {
    case "$1" in
@OPTS@
    esac
}

# The command path of the words typed so far: "pipeline", "pipeline dlq", ...
_pipeline_path() {
    local cmdpath="pipeline" word
    for word in "$@"; do
        case "$word" in -*) continue ;; esac
        case " $(_pipeline_subcommands "$cmdpath") " in
            *" $word "*) cmdpath="$cmdpath $word" ;;
        esac
    done
    echo "$cmdpath"
}
"""

_BASH = (
    "# bash completion for pipeline; load with: source <(pipeline completion bash)\n"
    + _FUNCTIONS
    + """
_pipeline_complete() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local cmdpath
    cmdpath="$(_pipeline_path "${COMP_WORDS[@]:1:COMP_CWORD-1}")"
    if [[ "$cur" == -* ]]; then
        COMPREPLY=( $(compgen -W "$(_pipeline_options "$cmdpath")" -- "$cur") )
    else
        COMPREPLY=( $(compgen -W "$(_pipeline_subcommands "$cmdpath")" -- "$cur") )
    fi
}
complete -o default -F _pipeline_complete pipeline
"""
)

_ZSH = (
    "#compdef pipeline\n"
    "# zsh completion for pipeline; load with: source <(pipeline completion zsh)\n"
    + _FUNCTIONS
    + """
_pipeline() {
    local cmdpath subs
    cmdpath="$(_pipeline_path "${(@)words[2,CURRENT-1]}")"
    subs="$(_pipeline_subcommands "$cmdpath")"
    if [[ "${words[CURRENT]}" == -* ]]; then
        compadd -- ${=$(_pipeline_options "$cmdpath")}
    elif [[ -n "$subs" ]]; then
        compadd -- ${=subs}
    else
        _files
    fi
}
if (( $+functions[compdef] )); then
    compdef _pipeline pipeline
fi
"""
)
