# Files are published exactly as delivered: every file byte-identical to the
# package, HTML only with the banner right after the opening <body…> tag.
# Plus the HTTP surface of a corte: GET/HEAD, 405, 404, redirects to dir/,
# dir/ → index.html, path traversal, dot-files, Content-Type, ETag,
# Last-Modified, conditional requests, ranges, precompressed variants.
# Feed: qro.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use HTTP::Date ();
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use PrepTest;

my $feed = 'qro';
my $base = "/prep/$feed";
my ($pkg, $f) = ensure_corte($feed, corte => '2024-06-02T21:05:00-06:00', seed => 11, files => 600);
ok $f && $f->{corte}, 'feed qro serves a corte' or give_up('qro has no corte: ' . join('', explain(status_feed($feed))));
my $tree = extract_package($pkg);
my @files = tree_files($tree);

# The sample: every file that is not a casilla, and every 2nd casilla.
my @published = grep { !m{(^|/)\.} } @files;
my @casillas  = grep { m{^json/casillas/} } @published;
my @sample = ((grep { !m{^json/casillas/} } @published), @casillas[grep { $_ % 2 == 0 } 0 .. $#casillas]);
cmp_ok scalar(@sample), '>=', 200, 'at least 200 files in the sample';
ok((grep { $_ eq 'datos/PRES_2024.csv' } @sample), 'the sample has the CSV database');
ok((grep { $_ eq 'img/escudo.png' } @sample), 'the sample has a PNG');
ok((grep { $_ eq 'json/municipios/Querétaro.json' } @sample), 'the sample has a UTF-8 name');
ok((grep { $_ eq 'docs/Manual de usuario PREP.pdf' } @sample), 'the sample has a name with spaces');

# The bytes of a br body, decoded by the brotli command.
sub unbrotli {
    my $data = shift;
    my $dir = tmp_dir();
    spit("$dir/x.br", $data);
    system('brotli', '-d', '-f', '-o', "$dir/x", "$dir/x.br") == 0 or return undef;
    return slurp("$dir/x");
}

sub is_html { $_[0] =~ /\.html?$/ }

my (@wrong, @wrong_head, @bad_banner, %banners);
for my $path (@sample) {
    my $orig = slurp("$tree/$path");
    my $url = "$base/" . enc_path($path);
    my $r = http(GET => $url);
    if ($r->code != 200) {
        push @wrong, "$path: status " . $r->code;
        next;
    }
    my $body = $r->content;
    if (is_html($path) && $orig =~ /<body\b/i) {
        my $ins = banner_split($body, $orig);
        if (!defined $ins || !length $ins) {
            push @bad_banner, $path;
        }
        else {
            $banners{$ins}++;
        }
    }
    elsif ($body ne $orig) {
        push @wrong, sprintf '%s: %d bytes served, %d in the package', $path, length $body, length $orig;
    }
    my $h = http(HEAD => $url);
    my $cl = $r->header('Content-Length') // length($body);
    if ($h->code != 200 || length($h->content) || ($h->header('Content-Length') // -1) != $cl
        || ($h->header('Content-Type') // '') ne ($r->header('Content-Type') // '')
        || ($h->header('ETag') // '') ne ($r->header('ETag') // '')) {
        push @wrong_head, sprintf '%s: HEAD %d, body %d bytes, Content-Length %s (GET %s)', $path,
            $h->code, length($h->content), $h->header('Content-Length') // 'none', $cl;
    }
}
is_deeply \@wrong, [], 'every sampled non-HTML file is byte-identical to the package';
is_deeply \@bad_banner, [], 'every sampled HTML file is the original with something inserted right after <body…>';
is scalar(keys %banners), 1, 'the same banner is inserted in every HTML file' or diag explain \%banners;
is_deeply \@wrong_head, [], 'HEAD: same headers and Content-Length as GET, no body';

# An HTML fragment without a body tag is served unchanged.
{
    my $path = 'partials/tabla-resultados.html';
    my $r = http(GET => "$base/$path");
    ok $r->code == 200 && $r->content eq slurp("$tree/$path"), 'HTML without <body> is served unchanged';
}

# Methods.
for my $m (qw(POST PUT DELETE)) {
    my $r = http($m => "$base/json/main.json", 'Content-Type' => 'text/plain');
    is $r->code, 405, "$m → 405";
    # httpd's core adds TRACE, which it answers itself while TraceEnable is
    # on (its default); mod_prep allows GET and HEAD and nothing else.
    my %allow = map { uc($_) => 1 } split /\s*,\s*/, $r->header('Allow') // '';
    delete $allow{TRACE};
    is_deeply [sort keys %allow], [qw(GET HEAD)], "$m: Allow: GET, HEAD"
        or diag 'Allow: ' . ($r->header('Allow') // 'none');
    is $r->header('X-PREP-Corte'), $f->{corte}{time}, "$m: the 405 carries X-PREP-Corte";
}

# Not found, directories, redirects.
is http(GET => "$base/no-existe.html")->code, 404, 'a missing file → 404';
is http(GET => "$base/json/casillas/9999-Z9.json")->code, 404, 'a missing file in a directory → 404';
is http(GET => "$base/json/main.json/")->code, 404, 'a file with a trailing slash → 404';
{
    my $r = http(GET => $base);
    is $r->code, 301, 'the Location without trailing slash → 301';
    like $r->header('Location') // '', qr{^(https?://[^/]+)?\Q$base\E/$}, 'redirected to the Location with a slash';
    $r = http(GET => "$base/");
    is $r->code, 200, 'the Location with a slash → 200';
    my $ins = banner_split($r->content, slurp("$tree/index.html"));
    ok defined $ins && length $ins, 'and serves index.html (with its banner)';
    $r = http(GET => "$base/distritos");
    is $r->code, 301, 'a directory without slash → 301';
    like $r->header('Location') // '', qr{^(https?://[^/]+)?\Q$base\E/distritos/$}, 'redirected to dir/';
    $r = http(GET => "$base/distritos/");
    is $r->code, 200, 'dir/ → 200';
    $ins = banner_split($r->content, slurp("$tree/distritos/index.html"));
    ok defined $ins && length $ins, 'dir/ serves dir/index.html';
    is http(GET => "$base/json/")->code, 404, 'a directory without index.html → 404 (no listing)';
}

# Path traversal: nothing outside the corte is ever returned.
{
    my $secret = 'PREP-SECRETO-' . $$;
    spit(t_dir() . "/prep/$feed/secreto.txt", "$secret\n");
    spit(store($feed) . '/secreto.txt', "$secret\n");
    my @attacks = (
        '/../../../../../etc/passwd',
        '/../secreto.txt',
        '/../store/secreto.txt',
        '/json/../../secreto.txt',
        '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
        '/%2e%2e/secreto.txt',
        '/%2E%2E/store/secreto.txt',
        '/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
        '/..%2f..%2f..%2f..%2fetc%2fpasswd',
        '/..%2fsecreto.txt',
        '/%252e%252e/%252e%252e/etc/passwd',
        '/%252e%252e%252fsecreto.txt',
        '/.%2e/.%2e/etc/passwd',
        '/..\\..\\..\\..\\etc\\passwd',
        '/..\\secreto.txt',
        '/json\\..\\..\\secreto.txt',
        '/..%5c..%5c..%5cetc%5cpasswd',
        '/..%5csecreto.txt',
        '/%2fetc%2fpasswd',
        '//etc/passwd',
        '/store/current',
        '/../store/current',
        '/cortes/' . ($f->{corte}{id} // 'x') . '/corte.json',
        '/../store/cortes/' . ($f->{corte}{id} // 'x') . '/corte.json',
    );
    for my $a (@attacks) {
        my $res = raw_http("$base$a");
        my $ok = $res->{status} >= 400 && $res->{status} < 500
            && $res->{body} !~ /\Q$secret\E|root:x:0:0|"sha256"/;
        ok $ok, "traversal $a → 4xx, nothing from outside the corte"
            or diag "status $res->{status}, body: " . substr($res->{body}, 0, 200);
    }
}

# Dot-files in the package are never served.
is http(GET => "$base/.htaccess")->code, 404, '.htaccess → 404';
is http(GET => "$base/json/.hidden")->code, 404, 'json/.hidden → 404';
is raw_http("$base/json/%2ehidden")->{status}, 404, 'json/%2ehidden → 404';

# Content-Type per extension.
my %types = (
    'index.html'                          => qr{^text/html\b},
    'json/main.json'                      => qr{^application/json\b},
    'datos/PRES_2024.csv'                 => qr{^text/csv\b},
    'js/prep.js'                          => qr{^(text|application)/javascript\b},
    'css/prep.css'                        => qr{^text/css\b},
    'img/logo-ieeq.svg'                   => qr{^image/svg\+xml\b},
    'img/escudo.png'                      => qr{^image/png$},
    'img/foto-centro-acopio.jpg'          => qr{^image/jpeg$},
    'img/cargando.gif'                    => qr{^image/gif$},
    'img/portada.webp'                    => qr{^image/webp$},
    'favicon.ico'                         => qr{^image/(x-icon|vnd\.microsoft\.icon)$},
    'fonts/Roboto-Regular.woff'           => qr{^(font/woff|application/font-woff)$},
    'fonts/Roboto-Regular.woff2'          => qr{^font/woff2$},
    'robots.txt'                          => qr{^text/plain\b},
    'sitemap.xml'                         => qr{^(application|text)/xml\b},
    'datos/PRES_2024_candidaturas.zip'    => qr{^application/zip$},
    'docs/Manual de usuario PREP.pdf'     => qr{^application/pdf$},
);
for my $path (sort keys %types) {
    my $r = http(GET => "$base/" . enc_path($path));
    like $r->header('Content-Type') // 'none', $types{$path}, "Content-Type of $path";
}

# Validators, conditional requests, ranges.
{
    my $csv = 'datos/PRES_2024.csv';
    my $r = http(GET => "$base/$csv");
    my $etag = $r->header('ETag') // '';
    like $etag, qr/^"[^"]+"$/, 'a strong ETag (quoted, not W/)';
    my $lm = $r->header('Last-Modified');
    ok defined $lm && HTTP::Date::str2time($lm), 'Last-Modified is an HTTP date';
    my $c = http(GET => "$base/$csv", 'If-None-Match' => $etag);
    is $c->code, 304, 'If-None-Match with the ETag → 304';
    is length($c->content), 0, '304 has no body';
    is $c->header('ETag'), $etag, '304 carries the ETag';
    is http(GET => "$base/$csv", 'If-None-Match' => '"otro"')->code, 200, 'If-None-Match with another ETag → 200';
    is http(GET => "$base/$csv", 'If-Modified-Since' => $lm // '')->code, 304, 'If-Modified-Since → 304';
    is http(HEAD => "$base/$csv", 'If-None-Match' => $etag)->code, 304, 'HEAD If-None-Match → 304';
    my $g = http(GET => "$base/$csv", 'Range' => 'bytes=0-9');
    is $g->code, 206, 'Range: bytes=0-9 → 206';
    my $orig = slurp("$tree/$csv");
    ok $g->content eq substr($orig, 0, 10), 'exactly the first 10 bytes';
    is $g->header('Content-Range'), 'bytes 0-9/' . length($orig), 'Content-Range';
    $g = http(GET => "$base/$csv", 'Range' => 'bytes=-5');
    ok $g->code == 206 && $g->content eq substr($orig, -5), 'Range: bytes=-5 → the last 5 bytes';
    is http(GET => "$base/$csv", 'Range' => 'bytes=' . (length($orig) + 10) . '-')->code, 416,
        'an unsatisfiable range → 416';
    my $ir = http(GET => "$base/$csv", 'Range' => 'bytes=0-9', 'If-Range' => $etag);
    is $ir->code, 206, 'If-Range with the current ETag → 206';
    $ir = http(GET => "$base/$csv", 'Range' => 'bytes=0-9', 'If-Range' => '"otro"');
    ok $ir->code == 200 && $ir->content eq $orig, 'If-Range with another ETag → 200, the whole file';
    my $html = http(GET => "$base/index.html");
    my $hc = http(GET => "$base/index.html", 'If-None-Match' => $html->header('ETag') // '');
    is $hc->code, 304, 'If-None-Match → 304 on HTML too';
}

# mod_mime's AddEncoding and AddLanguage (set for .zip and .csv in
# /sinbanner/qro) do not change what a feed sends.
for my $path ('datos/PRES_2024_candidaturas.zip', 'datos/PRES_2024.csv') {
    my $r = http(GET => "/sinbanner/qro/$path");
    ok !defined $r->header('Content-Encoding'), "$path: no Content-Encoding from AddEncoding";
    ok !defined $r->header('Content-Language'), "$path: no Content-Language from AddLanguage";
    ok $r->content eq slurp("$tree/$path"), "$path: the bytes as delivered";
}

# Precompressed variants (PrepCompress gzip br by default).
{
    for my $path ('json/main.json', 'index.html', 'datos/PRES_2024.csv') {
        my $plain = http(GET => "$base/$path");
        my $r = http(GET => "$base/$path", 'Accept-Encoding' => 'gzip');
        is $r->header('Content-Encoding'), 'gzip', "$path with Accept-Encoding: gzip → gzip";
        like $r->header('Vary') // '', qr/Accept-Encoding/i, "$path: Vary: Accept-Encoding";
        my $unz;
        gunzip(\($r->content) => \$unz) or diag "gunzip: $GunzipError";
        ok defined $unz && $unz eq $plain->content, "$path: the gzip variant is the same bytes";
        isnt $r->header('ETag'), $plain->header('ETag'), "$path: the gzip variant has its own ETag";
        like $plain->header('Vary') // '', qr/Accept-Encoding/i, "$path: identity also says Vary: Accept-Encoding";
        my $b = http(GET => "$base/$path", 'Accept-Encoding' => 'br');
        is $b->header('Content-Encoding'), 'br', "$path with Accept-Encoding: br → br";
        is unbrotli($b->content), $plain->content, "$path: the br variant is the same bytes";
        my %etags = map { $_ => 1 } grep { defined } map { $_->header('ETag') } $plain, $r, $b;
        is scalar(keys %etags), 3, "$path: identity, gzip and br have three distinct ETags";
        like $b->header('ETag') // '', qr/^"[^"]+"$/, "$path: the br ETag is strong";
        my $z = http(GET => "$base/$path", 'Accept-Encoding' => 'gzip;q=0, identity');
        ok !$z->header('Content-Encoding') && $z->content eq $plain->content,
            "$path: gzip;q=0 → identity";

        # Negotiation by q-value: br first on a tie, then gzip, then identity.
        my %want = ('gzip, br' => 'br', 'br, gzip' => 'br', 'br;q=0.5, gzip' => 'gzip',
                    'gzip;q=1.0, br;q=0.9' => 'gzip', '*' => 'br', 'br;q=0, *;q=0.3' => 'gzip',
                    'identity' => 'identity', 'deflate' => 'identity', 'BR' => 'br',
                    'gzip;q=0, br;q=0' => 'identity', ' gzip ;q=0.8 , br;q=0.2' => 'gzip');
        for my $ae (sort keys %want) {
            my $n = http(HEAD => "$base/$path", 'Accept-Encoding' => $ae);
            is $n->header('Content-Encoding') // 'identity', $want{$ae}, "$path: Accept-Encoding '$ae' → $want{$ae}";
        }

        # HEAD, conditional requests and ranges on a variant.
        my $h = http(HEAD => "$base/$path", 'Accept-Encoding' => 'gzip');
        is $h->header('Content-Length'), length($r->content), "$path: HEAD gzip: Content-Length of the gzip bytes";
        is $h->header('ETag'), $r->header('ETag'), "$path: HEAD gzip: the gzip ETag";
        is length($h->content), 0, "$path: HEAD gzip: no body";
        my $c = http(GET => "$base/$path", 'Accept-Encoding' => 'gzip', 'If-None-Match' => $r->header('ETag'));
        is $c->code, 304, "$path: If-None-Match with the gzip ETag → 304";
        my $cb = http(GET => "$base/$path", 'Accept-Encoding' => 'br', 'If-None-Match' => $r->header('ETag'));
        is $cb->code, 200, "$path: the gzip ETag does not validate the br variant";
        my $g = http(GET => "$base/$path", 'Accept-Encoding' => 'gzip', Range => 'bytes=10-29');
        is $g->code, 206, "$path: a range of the gzip variant → 206";
        ok $g->content eq substr($r->content, 10, 20), "$path: the range is of the gzip bytes";
        like $g->header('Content-Range') // '', qr{^bytes 10-29/\Q${\length($r->content)}\E$},
            "$path: Content-Range counts the gzip bytes";
    }
    my $png = http(GET => "$base/img/escudo.png", 'Accept-Encoding' => 'gzip, br');
    ok !$png->header('Content-Encoding') && $png->content eq slurp("$tree/img/escudo.png"),
        'a PNG is not compressed again';
}

done_testing;
