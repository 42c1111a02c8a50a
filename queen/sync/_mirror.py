"""Synchronous mirrors of the async client's classes, generated from them.

A mirror class wraps one async object and gets one method per public method of the async
class, built when the class is defined:

* a coroutine method runs on the client's private loop and returns its result;
* a plain method (a setter, ``queue()``, ``push()``) runs in the calling thread, or on the
  loop for classes whose state the loop owns (the client itself); its result is mapped:
  the async object itself → this mirror (fluent chains), another mirrored object → its
  mirror, an awaitable builder (``push()``, ``create()``, ``delete()``) → run at once, with
  the builder's callback setters (``on_success=``, ...) taken as keyword arguments;
* a property reads through, with the same mapping.

Messages returned or handed to callbacks get a synchronous ``trace``. Methods written in a
mirror's class body (consume(), close(), ...) take precedence. Nothing else is copied, so a
change to the async client's behaviour, validation or errors shows in the sync one as is.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Optional, Tuple, Type

from .._builders._base import OnceAwaitable
from .._message import Message
from ._portal import Portal, plain_callable

__all__ = ["Mirror", "Runtime", "callback_names", "mirror_of"]

_MIRRORS: Dict[type, type] = {}


def _awaitable_builders() -> Dict[str, type]:
    """Every awaitable builder class by name (walks OnceAwaitable's subclasses)."""
    import importlib
    import pkgutil

    from .. import _builders

    for module in pkgutil.iter_modules(_builders.__path__):  # some are imported lazily
        importlib.import_module(f"{_builders.__name__}.{module.name}")
    found: Dict[str, type] = {}
    todo: List[type] = [OnceAwaitable]
    while todo:
        cls = todo.pop()
        found.setdefault(cls.__name__, cls)
        todo.extend(cls.__subclasses__())
    return found


def terminal_builder(fn: Any) -> Optional[type]:
    """The awaitable builder class a plain async-side method returns, from its annotation."""
    annotation = getattr(fn, "__annotations__", {}).get("return")
    if isinstance(annotation, type):
        annotation = annotation.__name__
    if not isinstance(annotation, str):
        return None
    return _awaitable_builders().get(annotation.strip("'\""))


def callback_names(builder: type) -> List[str]:
    """The callback setters of an awaitable builder: its public ``on_*`` methods."""
    return sorted(
        name for name in dir(builder) if name.startswith("on_") and callable(getattr(builder, name))
    )


class Runtime:
    """What every mirror of one client shares: its portal and the message adapter."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self._message_classes: Dict[type, type] = {}

    # -- messages -------------------------------------------------------------------------

    def _sync_message_class(self, cls: type) -> type:
        sync_cls = self._message_classes.get(cls)
        if sync_cls is None:
            portal = self.portal
            async_helper = cls._trace_helper  # type: ignore[attr-defined]

            def _trace_helper(message: Message) -> Callable[[Any], Dict[str, Any]]:
                trace = async_helper(message)

                def sync_trace(config: Any) -> Dict[str, Any]:
                    return portal.run(trace(config))

                return sync_trace

            sync_cls = type(
                "Message", (cls,), {"__slots__": (), "_trace_helper": _trace_helper}
            )
            sync_cls._sync = True  # type: ignore[attr-defined]
            self._message_classes[cls] = sync_cls
        return sync_cls

    def adapt(self, value: Any) -> Any:
        """``value`` with its messages given a synchronous ``trace`` (in place)."""
        if isinstance(value, Message):
            if not getattr(type(value), "_sync", False):
                value.__class__ = self._sync_message_class(type(value))
        elif isinstance(value, list) and value and isinstance(value[0], Message):
            for message in value:
                self.adapt(message)
        return value

    # -- callbacks and results ------------------------------------------------------------

    def callback(self, fn: Any, what: str, executor: Any = None) -> Callable[..., Any]:
        """A user callback as the async client wants it: run in a worker thread."""
        return self.portal.in_thread(plain_callable(fn, what), self.adapt, executor)

    def apply_callbacks(
        self, builder: OnceAwaitable, callbacks: Dict[str, Any], executor: Any = None
    ) -> OnceAwaitable:
        """Hand callback keywords (``on_success=fn``, ...) to an awaitable builder's setters."""
        for name, fn in callbacks.items():
            if fn is not None:
                getattr(builder, name)(self.callback(fn, f"{name} callback", executor))
        return builder

    def run_builder(self, builder: OnceAwaitable, callbacks: Dict[str, Any]) -> Any:
        """Apply callback keywords to an awaitable builder and run it to its result."""
        return self.adapt(self.portal.run(self.apply_callbacks(builder, callbacks)))

    def result(self, value: Any, owner: Mirror, callbacks: Dict[str, Any]) -> Any:
        if isinstance(value, OnceAwaitable):
            unknown = [name for name in callbacks if not hasattr(value, name)]
            if unknown:
                raise TypeError(f"unexpected keyword argument(s) {', '.join(unknown)}")
            return self.run_builder(value, callbacks)
        if callbacks:
            raise TypeError(f"unexpected keyword argument(s) {', '.join(callbacks)}")
        if value is owner._async:
            return owner
        mirror = mirror_of(type(value))
        if mirror is not None:
            return mirror(value, self)
        return self.adapt(value)


def mirror_of(cls: type) -> Optional[Type[Mirror]]:
    for klass in cls.__mro__:
        if klass in _MIRRORS:
            return _MIRRORS[klass]
    return None


class Mirror:
    """Base of the synchronous mirrors: one async object and the client's runtime."""

    __slots__ = ("_async", "_rt")

    #: The async class this class mirrors (set by ``mirrors()``).
    mirrored: type = object
    #: Run plain methods on the loop thread: the async object's state belongs to the loop.
    plain_on_loop = False

    def __init__(self, target: Any, runtime: Runtime) -> None:
        self._async = target
        self._rt = runtime

    def __getattr__(self, name: str) -> Any:
        # Public data attributes of the async object (TransactionBuilder.operations, ...);
        # methods are never handed out unmirrored.
        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(self._async, name)
        if callable(value):
            raise AttributeError(f"{type(self).__name__} has no method {name!r}")
        return value

    def __repr__(self) -> str:
        return f"<sync {self._async!r}>"


def _split_callbacks(
    kwargs: Dict[str, Any], parameters: Any
) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    names = [k for k in kwargs if k.startswith("on_") and k not in parameters]
    callbacks = {k: kwargs.pop(k) for k in names}
    return kwargs, callbacks


def _signature(fn: Any, extra: List[str]) -> inspect.Signature:
    sig = inspect.signature(fn)
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    tail = [p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
    params = [p for p in params if p.kind is not inspect.Parameter.VAR_KEYWORD]
    params += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None) for name in extra
    ]
    return sig.replace(parameters=params + tail, return_annotation=inspect.Signature.empty)


def _coroutine_method(name: str, fn: Any) -> Callable[..., Any]:
    def method(self: Mirror, *args: Any, **kwargs: Any) -> Any:
        rt = self._rt
        return rt.result(rt.portal.run(getattr(self._async, name)(*args, **kwargs)), self, {})

    method.__signature__ = _signature(fn, [])  # type: ignore[attr-defined]
    return method


def _plain_method(name: str, fn: Any) -> Callable[..., Any]:
    parameters = inspect.signature(fn).parameters
    builder = terminal_builder(fn)

    def method(self: Mirror, *args: Any, **kwargs: Any) -> Any:
        rt = self._rt
        kwargs, callbacks = _split_callbacks(kwargs, parameters)
        bound = getattr(self._async, name)
        if self.plain_on_loop:
            value = rt.portal.call(lambda: bound(*args, **kwargs))
        else:
            value = bound(*args, **kwargs)
        return rt.result(value, self, callbacks)

    extra = callback_names(builder) if builder is not None else []
    method.__signature__ = _signature(fn, extra)  # type: ignore[attr-defined]
    return method


def _property(name: str) -> property:
    def get(self: Mirror) -> Any:
        return self._rt.result(getattr(self._async, name), self, {})

    return property(get)


def mirrors(async_cls: type) -> Callable[[type], type]:
    """Class decorator: fill ``cls`` with the mirrored public surface of ``async_cls``."""

    def build(cls: type) -> type:
        cls.mirrored = async_cls  # type: ignore[attr-defined]
        for name in dir(async_cls):
            if name.startswith("_") or name in cls.__dict__:
                continue
            attr = inspect.getattr_static(async_cls, name)
            if isinstance(attr, property):
                member: Any = _property(name)
            elif isinstance(attr, (staticmethod, classmethod)):
                continue
            elif inspect.iscoroutinefunction(attr):
                member = _coroutine_method(name, attr)
            elif inspect.isfunction(attr):
                member = _plain_method(name, attr)
            else:
                continue
            if callable(member):
                member.__name__ = name
                member.__qualname__ = f"{cls.__name__}.{name}"
                member.__doc__ = getattr(attr, "__doc__", None)
            setattr(cls, name, member)
        _MIRRORS[async_cls] = cls
        return cls

    return build
