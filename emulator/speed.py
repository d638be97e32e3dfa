"""Speed fixes, in every mode: where moto's server redoes on every request work whose answer never changes."""


def patch_module_list():
    """moto's dispatcher lists its own package folder (a stat of each of ~200 entries) on every request to find
    the service a host names; the folder does not change while the server runs, so it is listed once."""
    from moto import backends

    modules = frozenset(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


def patch_method_names():
    """moto finds an action's handler by listing every function of the response class (inspect.getmembers) on
    every request; the classes are complete before the server starts, so each is listed once."""
    import functools

    from moto.core import responses

    responses.method_names_from_class = functools.lru_cache(maxsize=None)(responses.method_names_from_class)


def patch_backend_lookup():
    """moto's dispatcher finds the service of every request by matching its host against the URL patterns of every
    service it has (hundreds of regular expressions, in order); the patterns are fixed once the server starts, so each
    host's answer is kept. Hosts that name no service are asked again (and said in the log) as before."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    find = DomainDispatcherApplication.get_backend_for_host

    def get_backend_for_host(self, host):
        found = self.__dict__.setdefault("sts_lab_backends", {})
        backend = found.get(host)
        if backend is None:
            backend = find(self, host)
            if backend is not None:
                found[host] = backend
        return backend

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host


def patch_template_parsing():
    """moto parses every CloudFormation template (CreateStack, UpdateStack, change sets) with PyYAML's pure-Python
    loader: 6 ms for the lab's template, on every stack. PyYAML's wheels carry libyaml; the same loader on libyaml's
    parser (yaml.Loader's constructor and resolver, moto's tag constructor added) gives the same document in a tenth
    of the time, and raises the same ScannerError and ParserError moto falls back to JSON on."""
    import types

    import yaml
    from moto.cloudformation import models, responses

    if not getattr(yaml, "__with_libyaml__", False):
        return

    class TemplateLoader(yaml.CLoader):
        """yaml.Loader on libyaml's parser."""

    def add_multi_constructor(tag_prefix, multi_constructor, Loader=None):
        yaml.add_multi_constructor(tag_prefix, multi_constructor, Loader=Loader or TemplateLoader)

    fast = types.ModuleType("yaml")
    fast.__dict__.update(vars(yaml))
    fast.Loader = TemplateLoader
    fast.add_multi_constructor = add_multi_constructor
    models.yaml = fast
    responses.yaml = fast


def patch_timestamps():
    """moto writes every timestamp of an answer by parsing its stored string with dateutil (botocore's
    parse_to_aware_datetime), then formatting it: a ListBuckets of a class's hundred buckets parsed a hundred creation
    dates, a tenth of the emulator's time in a class's verify of 50. A stored string always gives the same text, so each
    (value, format) is converted once; other values (datetimes) as before."""
    import functools

    from moto.core.serialize import TimestampSerializer

    convert = TimestampSerializer._convert_timestamp_to_str
    # The conversion reads nothing of its serializer but its converter methods.
    converter = TimestampSerializer(TimestampSerializer.TIMESTAMP_FORMAT_ISO8601)

    @functools.lru_cache(maxsize=65536)
    def converted(value, timestamp_format):
        return convert(converter, value, timestamp_format)

    def convert_timestamp_to_str(self, value, timestamp_format):
        if isinstance(value, (str, int, float)):
            return converted(value, timestamp_format)
        return convert(self, value, timestamp_format)

    TimestampSerializer._convert_timestamp_to_str = convert_timestamp_to_str


def patch_error_lookup():
    """moto looks an error's code up in a table built from its service's model and kept by a factory, but makes a new
    factory for every error answered, so every refusal built the table again; one table a service is kept."""
    from moto.core import errors

    tables = {}

    def init(self):
        self._error_lut_cache = tables

    errors.ErrorLookupFactory.__init__ = init


def quick_log(handler):
    """`handler` (werkzeug's request handler), its access log line written straight to stderr (moto.log) in the same
    plain format: through the logging module it was a tenth of the server's time per request. One line at a time (a
    lock: the server answers on many threads), never coloured (the log is a file)."""
    import sys
    import threading

    from werkzeug import serving

    serving._log_add_style = False
    lock = threading.Lock()

    class QuickLog(handler):
        def log(self, type, message, *args):  # werkzeug's own signature
            line = f"{self.address_string()} - - [{self.log_date_time_string()}] {message % args if args else message}\n"
            with lock:
                sys.stderr.write(line)

    return QuickLog


DRAINED = "sts_lab.drained"
"""The environ key the app sets once it has read the whole request body: the next request on the connection starts
right after it."""


def keep_alive(handler):
    """`handler` (werkzeug's request handler), keeping an HTTP/1.1 connection open after an answer whose request the
    app read to its end. werkzeug closes every connection, and after each answer reads whatever the client sent next
    to throw it away (http.server cannot find a request line behind a body left unread): each request cost a new
    connection and a new thread, a fifth of the emulator's time in a class's verify. The app reads every body before
    it answers and says so in the environ; from then on the handler's input reads as ended to werkzeug's discarding
    (the next request is left for http.server), and the answer does not say `Connection: close`. An answer to any other
    request (a body left unread, werkzeug's own error page before the app ran) closes its connection as before, as do
    HTTP/1.0 clients and those that ask to close. Answers are framed (Content-Length, or chunked)."""

    class Input:
        """The connection's input, read through until the app has drained the request; then ended."""

        def __init__(self, rfile, drained):
            self.rfile, self.drained = rfile, drained

        def read(self, *size):
            return b"" if self.drained() else self.rfile.read(*size)

        def __getattr__(self, name):
            return getattr(self.rfile, name)

    class KeepAlive(handler):
        # A kept connection answers with two writes (the head, then the body): with Nagle's algorithm on, the body
        # waits for the client to acknowledge the head, which it delays (40 ms on Linux), on every request after the
        # first. A closed connection flushed it at once. socketserver sets TCP_NODELAY on each accepted connection.
        disable_nagle_algorithm = True

        def drained(self):
            return getattr(self, "environ", {}).get(DRAINED, False)

        def run_wsgi(self):
            rfile = self.rfile
            self.rfile = Input(rfile, self.drained)
            try:
                super().run_wsgi()
            finally:
                # Nothing said of this request holds for the next one on the connection (http.server's own error
                # answers, sent outside run_wsgi, close it).
                self.rfile, self.environ = rfile, {}

        def send_header(self, keyword, value):
            # close_connection: what the request asked (HTTP/1.0, or `Connection: close`), said back as werkzeug does.
            closing = keyword.lower() == "connection" and value.lower() == "close"
            if closing and self.drained() and not self.close_connection:
                return
            super().send_header(keyword, value)

    return KeepAlive


def patch_all():
    """Every speed fix."""
    patch_module_list()
    patch_method_names()
    patch_backend_lookup()
    patch_template_parsing()
    patch_timestamps()
    patch_error_lookup()
