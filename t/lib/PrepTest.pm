# PrepTest — helpers shared by the t/*.t files of mod_prep's suite:
# packages (tests/genpackage.py), uploads into a feed's incoming directory
# the way SFTP does them, HTTP requests that are not rewritten by the client,
# the status document, and the corte labels the banner must show.
#
# Every wait is bounded.  Bodies are compared as bytes.
package PrepTest;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use Apache::Test ();
use Apache::TestRequest ();
use Cwd qw(abs_path);
use Digest::SHA ();
use Encode ();
use File::Basename qw(basename dirname);
use File::Copy qw(copy);
use File::Find ();
use File::Path qw(make_path remove_tree);
use File::Temp ();
use HTTP::Request ();
use IO::Socket::INET ();
use JSON::PP ();
use LWP::UserAgent ();
use POSIX ();
use Time::HiRes ();
use Time::Local ();

our @EXPORT = qw(
    t_dir top_dir tmp_dir incoming store
    make_package cached_package extract_package tree_files slurp spit sha256_file sha256_hex
    upload_renamed upload_chunked upload_and_wait
    http url_for enc_path raw_http
    status status_feed wait_for wait_new_corte wait_rejected ensure_corte corte_id
    iso_in_zone corte_label iso_to_epoch banner_split store_current store_cortes
    error_log_size error_log_since server_pid give_up
    feeds_file prepctl prepctl_idle journal_lines journal wait_journal unix_user
    restart_graceful
);

# ---------------------------------------------------------------- places

sub t_dir   { Apache::Test::vars('t_dir') }
sub top_dir { Apache::Test::vars('top_dir') }

sub incoming { my $feed = shift; t_dir() . "/prep/$feed/incoming" }
sub store    { my $feed = shift; t_dir() . "/prep/$feed/store" }

# A fresh directory below t/tmp, removed when the test ends.
sub tmp_dir {
    my $base = t_dir() . '/tmp';
    make_path($base);
    return File::Temp::tempdir('prep-XXXXXX', DIR => $base, CLEANUP => 1);
}

sub slurp {
    my $file = shift;
    open my $fh, '<:raw', $file or die "cannot read $file: $!";
    local $/;
    my $data = <$fh>;
    close $fh;
    return $data // '';
}

sub spit {
    my ($file, $data) = @_;
    open my $fh, '>:raw', $file or die "cannot write $file: $!";
    print $fh $data;
    close $fh or die "cannot write $file: $!";
}

sub sha256_hex  { Digest::SHA::sha256_hex($_[0]) }
sub sha256_file { Digest::SHA->new(256)->addfile($_[0], 'b')->hexdigest }

# ---------------------------------------------------------------- packages

# make_package(out => FILE, corte => ISO, files => N, seed => S, size_mb => M,
#              top_dir => NAME, format => 'zip', only_data_changes_from => S)
sub make_package {
    my %o = @_;
    my $out = $o{out} or die "make_package: out";
    my @cmd = ('python3', top_dir() . '/tests/genpackage.py', $out);
    push @cmd, '--corte', $o{corte} if $o{corte};
    push @cmd, '--files', $o{files} // 400;
    push @cmd, '--seed', $o{seed} if defined $o{seed};
    push @cmd, '--size-mb', $o{size_mb} if $o{size_mb};
    push @cmd, '--top-dir', $o{top_dir} if defined $o{top_dir};
    push @cmd, '--format', $o{format} if $o{format};
    push @cmd, '--only-data-changes-from', $o{only_data_changes_from}
        if defined $o{only_data_changes_from};
    my $rc = system(@cmd);
    die "genpackage failed ($rc): @cmd\n" if $rc;
    return $out;
}

# The same package for every test file that asks for it (t/tmp/cache is
# kept for the whole run; genpackage.py is deterministic anyway).
sub cached_package {
    my %o = @_;
    my $dir = t_dir() . '/tmp/cache';
    make_path($dir);
    my $ext = ($o{format} // '') eq 'zip' ? 'zip' : 'tar.gz';
    (my $key = join '-', map { "$_=" . ($o{$_} // '') } sort keys %o) =~ s/[^A-Za-z0-9=.-]+/_/g;
    my $out = "$dir/$o{name}.$ext";
    my $stamp = "$out.key";
    return $out if -e $out && -e $stamp && slurp($stamp) eq $key;
    my %g = %o;
    delete $g{name};
    make_package(%g, out => $out);
    spit($stamp, $key);
    return $out;
}

# Unpacks with the real tools into a fresh directory; returns the directory
# that holds the files (the single top folder stripped, as the module does).
sub extract_package {
    my $pkg = shift;
    my $dir = tmp_dir();
    if ($pkg =~ /\.zip$/) {
        system('python3', '-c',
               # Info-ZIP stores UTF-8 names without the UTF-8 flag; Python
               # would read them as cp437.
               join("\n", 'import sys, zipfile',
                    'z = zipfile.ZipFile(sys.argv[1])',
                    'for i in z.infolist():',
                    '    if not i.flag_bits & 0x800:',
                    '        i.filename = i.filename.encode("cp437").decode("utf-8")',
                    '    z.extract(i, sys.argv[2])', ''),
               $pkg, $dir) == 0 or die "cannot unzip $pkg\n";
    }
    else {
        system('tar', '-xzf', $pkg, '-C', $dir) == 0 or die "cannot untar $pkg\n";
    }
    opendir my $dh, $dir or die;
    my @top = grep { $_ ne '.' && $_ ne '..' } readdir $dh;
    closedir $dh;
    return "$dir/$top[0]" if @top == 1 && -d "$dir/$top[0]";
    return $dir;
}

# Relative paths of the regular files below dir, sorted.
sub tree_files {
    my $root = shift;
    my @files;
    File::Find::find({ no_chdir => 1, wanted => sub {
        return unless -f $_ && !-l $_;
        (my $rel = $File::Find::name) =~ s{^\Q$root\E/}{};
        push @files, $rel;
    } }, $root);
    return sort @files;
}

# ---------------------------------------------------------------- uploads

# SFTP clients write NAME.part (or .filepart) and rename when complete.
sub upload_renamed {
    my ($pkg, $feed, $name) = @_;
    $name //= basename($pkg);
    my $dst = incoming($feed) . "/$name";
    copy($pkg, "$dst.part") or die "copy $pkg: $!";
    # A real upload's rename comes at least a clock tick (4 ms) after its
    # last write: mod_prep tells a renamed package (complete) from one
    # written under its final name (perhaps paused) by ctime > mtime.
    Time::HiRes::sleep(0.02);
    rename("$dst.part", $dst) or die "rename $dst.part: $!";
    return $name;
}

# scp and some SFTP servers write the final name progressively: chunks
# with pauses shorter than PrepSettleTime.
sub upload_chunked {
    my ($pkg, $feed, %o) = @_;
    my $name   = $o{name} // basename($pkg);
    my $chunks = $o{chunks} // 6;
    my $pause  = $o{pause} // 0.5;
    my $data = slurp($pkg);
    my $size = int(length($data) / $chunks) + 1;
    open my $fh, '>:raw', incoming($feed) . "/$name" or die "open: $!";
    my $fd = select $fh; $| = 1; select $fd;
    for (my $off = 0; $off < length $data; $off += $size) {
        print $fh substr($data, $off, $size);
        Time::HiRes::sleep($pause) if $off + $size < length $data;
    }
    close $fh or die "close: $!";
    return $name;
}

# ---------------------------------------------------------------- HTTP

# Percent-encodes a package path (bytes) for a URL; '/' stays.
sub enc_path {
    my $p = shift;
    $p = Encode::encode_utf8($p) if utf8::is_utf8($p);
    $p =~ s{([^A-Za-z0-9._~/-])}{sprintf '%%%02X', ord $1}ge;
    return $p;
}

sub base_url {
    my $module = shift;
    if ($module) {
        local $Apache::TestRequest::Module = $module;
        return Apache::TestRequest::hostport();
    }
    return 'http://' . Apache::TestRequest::hostport();
}

sub url_for { base_url() . shift }

my $UA;
sub ua {
    $UA ||= LWP::UserAgent->new(max_redirect => 0, timeout => 30, keep_alive => 0,
                                agent => 'mod_prep-t/1');
    return $UA;
}

# http(METHOD, PATH, header => value, …): no redirects followed, nothing
# decoded, no Accept-Encoding unless given.
sub http {
    my ($method, $path, @headers) = @_;
    my $req = HTTP::Request->new($method => url_for($path), [@headers]);
    return ua()->request($req);
}

# A request written on the socket exactly as given (paths with backslashes,
# dot segments, odd escapes): returns { status, headers => {lc name => value},
# body, raw }.
sub raw_http {
    my ($path, %o) = @_;
    my $method = $o{method} // 'GET';
    my $port = Apache::Test::vars('port');
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                     Proto => 'tcp', Timeout => 10)
        or die "cannot connect to 127.0.0.1:$port: $!";
    my $req = "$method $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n";
    $req .= "$_: $o{headers}{$_}\r\n" for sort keys %{ $o{headers} || {} };
    print $sock "$req\r\n";
    my $raw = '';
    my $deadline = time + 15;
    $sock->blocking(1);
    while (time < $deadline) {
        my $n = sysread($sock, my $buf, 65536);
        last unless $n;
        $raw .= $buf;
    }
    close $sock;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    $head //= '';
    my ($status) = $head =~ m{^HTTP/\d\.\d (\d{3})};
    my %h;
    for my $line (split /\r\n/, $head) {
        $h{lc $1} = $2 if $line =~ /^([^:]+):\s*(.*)$/;
    }
    if (($h{'transfer-encoding'} // '') =~ /chunked/i && defined $body) {
        my $out = '';
        while ($body =~ s/^([0-9a-fA-F]+)[^\r]*\r\n//) {
            my $n = hex $1;
            last unless $n;
            $out .= substr($body, 0, $n, '');
            $body =~ s/^\r\n//;
        }
        $body = $out;
    }
    return { status => $status // 0, headers => \%h, body => $body // '', raw => $raw };
}

# ---------------------------------------------------------------- status

my $JSON = JSON::PP->new->utf8->allow_nonref;

# The status document, decoded; undef when it cannot be read.
sub status {
    my $res = http(GET => '/prep-status');
    return undef unless $res->code == 200;
    my $doc = eval { $JSON->decode($res->content) };
    return $doc;
}

sub status_feed {
    my $feed = shift;
    my $doc = status() or return undef;
    return undef unless ref $doc->{feeds} eq 'ARRAY';
    my ($f) = grep { ref $_ eq 'HASH' && ($_->{name} // '') eq $feed } @{ $doc->{feeds} };
    return $f;
}

sub corte_id {
    my $f = status_feed(shift) or return undef;
    return ref $f->{corte} eq 'HASH' ? $f->{corte}{id} : undef;
}

# wait_for(SECONDS, sub { … }): the first true value of the sub, or undef.
sub wait_for {
    my ($timeout, $cb, $step) = @_;
    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        my $v = eval { $cb->() };
        return $v if $v;
        return undef if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep($step // 0.25);
    }
}

# Waits until the feed's corte id differs from $old (undef: any corte);
# returns the feed's status object or undef.
sub wait_new_corte {
    my ($feed, $old, $timeout) = @_;
    return wait_for($timeout // 20, sub {
        my $f = status_feed($feed) or return undef;
        my $id = ref $f->{corte} eq 'HASH' ? $f->{corte}{id} : undef;
        return undef unless defined $id && length $id;
        return undef if defined $old && $id eq $old;
        return $f;
    });
}

# Waits until the feed lists $package under rejected; returns the entry.
sub wait_rejected {
    my ($feed, $package, $timeout) = @_;
    return wait_for($timeout // 20, sub {
        my $f = status_feed($feed) or return undef;
        return undef unless ref $f->{rejected} eq 'ARRAY';
        my ($r) = grep { ref $_ eq 'HASH' && ($_->{package} // '') eq $package }
                  @{ $f->{rejected} };
        return $r;
    });
}

sub upload_and_wait {
    my ($pkg, $feed, %o) = @_;
    my $old = corte_id($feed);
    my $t0 = Time::HiRes::time();
    my $name = upload_renamed($pkg, $feed, $o{name});
    my $f = wait_new_corte($feed, $old, $o{timeout} // 20);
    return wantarray ? ($f, Time::HiRes::time() - $t0, $name) : $f;
}

# Makes sure the feed serves the package of these options (uploading it if
# another or no corte is served).  Returns (package path, feed status).
sub ensure_corte {
    my ($feed, %o) = @_;
    my $pkg = cached_package(name => "$feed-" . ($o{seed} // 1), %o);
    my $sha = sha256_file($pkg);
    my $f = status_feed($feed);
    if ($f && ref $f->{corte} eq 'HASH' && ($f->{corte}{sha256} // '') eq $sha) {
        return ($pkg, $f);
    }
    $f = upload_and_wait($pkg, $feed, timeout => $o{timeout} // 30);
    return ($pkg, $f);
}

# ---------------------------------------------------------------- times

# "2024-06-02T21:05:00-06:00" → epoch seconds
sub iso_to_epoch {
    my $iso = shift;
    $iso =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|([+-])(\d\d):?(\d\d))$/
        or return undef;
    my $t = Time::Local::timegm($6, $5, $4, $3, $2 - 1, $1);
    if ($7 ne 'Z') {
        my $off = ($9 * 3600 + $10 * 60) * ($8 eq '-' ? -1 : 1);
        $t -= $off;
    }
    return $t;
}

# epoch, offset seconds → "2024-06-02T21:05:00-06:00"
sub iso_in_zone {
    my ($t, $off) = @_;
    my @g = gmtime($t + $off);
    my $a = abs $off;
    return sprintf '%04d-%02d-%02dT%02d:%02d:%02d%s%02d:%02d', $g[5] + 1900, $g[4] + 1,
        $g[3], $g[2], $g[1], $g[0], $off < 0 ? '-' : '+', int($a / 3600), int($a % 3600 / 60);
}

# The banner label (UTF-8 bytes) for a corte time in a zone:
# "Último corte: 02/06/2024 21:05 (Tiempo del Centro, UTC-06:00)"
sub corte_label {
    my ($iso, $off, $zone) = @_;
    $off  //= -6 * 3600;
    $zone //= 'Tiempo del Centro';
    my @g = gmtime(iso_to_epoch($iso) + $off);
    my $a = abs $off;
    return sprintf "\xc3\x9altimo corte: %02d/%02d/%04d %02d:%02d (%s, UTC%s%02d:%02d)",
        $g[3], $g[4] + 1, $g[5] + 1900, $g[2], $g[1], $zone,
        $off < 0 ? '-' : '+', int($a / 3600), int($a % 3600 / 60);
}

# Splits a served HTML document against the original: returns the bytes
# the module inserted right after the opening <body…> tag, or undef when
# the served document is not "original with something inserted there".
sub banner_split {
    my ($served, $orig) = @_;
    $orig =~ /<body\b[^>]*>/gi or return undef;
    my $cut = pos($orig);
    my $prefix = substr($orig, 0, $cut);
    my $suffix = substr($orig, $cut);
    return undef unless length($served) >= length($orig);
    return undef unless substr($served, 0, $cut) eq $prefix;
    return undef unless substr($served, length($served) - length($suffix)) eq $suffix;
    return substr($served, $cut, length($served) - length($orig));
}

# ---------------------------------------------------------------- store

# The id STORE/current names (a file holding the id, or a symlink to it).
sub store_current {
    my $feed = shift;
    my $cur = store($feed) . '/current';
    if (-l $cur) {
        return basename(readlink $cur);
    }
    return undef unless -e $cur;
    (my $id = slurp($cur)) =~ s/\s+\z//;
    return $id;
}

sub store_cortes {
    my $feed = shift;
    my $dir = store($feed) . '/cortes';
    opendir my $dh, $dir or return ();
    my @ids = sort grep { !/^\./ && -d "$dir/$_" } readdir $dh;
    closedir $dh;
    return @ids;
}

# ---------------------------------------------------------------- server

# Ends this test file (not the whole run) when nothing after can pass.
sub give_up {
    my $why = shift;
    Test::More::diag("giving up on this file: $why");
    Test::More::done_testing();
    exit 1;
}

sub server_pid {
    my $file = Apache::Test::vars('t_pid_file');
    return undef unless -e $file;
    (my $pid = slurp($file)) =~ s/\D//g;
    return $pid || undef;
}

sub error_log_file { Apache::Test::vars('t_logs') . '/error_log' }
sub error_log_size { -s error_log_file() || 0 }

sub error_log_since {
    my $off = shift // 0;
    open my $fh, '<:raw', error_log_file() or return '';
    seek $fh, $off, 0;
    local $/;
    my $text = <$fh>;
    close $fh;
    return $text // '';
}

# ---------------------------------------------------------------- operator

# The file the module writes at each start naming its feeds
# (mod_prep-feeds.json in Apache's runtime directory: DefaultRuntimeDir,
# which Apache::Test leaves at ServerRoot/logs, i.e. t/logs).
sub feeds_file {
    for my $f (Apache::Test::vars('t_logs') . '/mod_prep-feeds.json',
               t_dir() . '/mod_prep-feeds.json') {
        return $f if -e $f;
    }
    return Apache::Test::vars('t_logs') . '/mod_prep-feeds.json';
}

# The Unix user this test runs as: the one the journal names for prepctl.
sub unix_user { scalar getpwuid($<) }

# prepctl(ARGS…): runs the built ./prepctl with ARGS, the feeds file of
# this server given explicitly (--feeds FILE after the command word),
# stdin from /dev/null (no terminal), bounded to 30 s.  Returns
# { rc, out, err }.  prepctl(\%o, ARGS…): o{raw} passes ARGS as they are;
# o{stdin} a file for its stdin.
sub prepctl {
    my $o = ref $_[0] eq 'HASH' ? shift : {};
    my @args = @_;
    if (!$o->{raw} && @args) {
        my $cmd = shift @args;
        @args = ($cmd, '--feeds', feeds_file(), @args);
    }
    my $dir = tmp_dir();
    my ($out, $err) = ("$dir/out", "$dir/err");
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', $o->{stdin} // '/dev/null' or POSIX::_exit(126);
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>', $err or POSIX::_exit(126);
        POSIX::setsid();    # no controlling terminal either
        { exec top_dir() . '/prepctl', @args };
        POSIX::_exit(127);
    }
    my $rc;
    my $deadline = Time::HiRes::time() + ($o->{timeout} // 30);
    while (1) {
        my $w = waitpid($pid, POSIX::WNOHANG());
        if ($w == $pid) { $rc = $? >> 8; $rc = 128 + ($? & 127) if $? & 127; last }
        if (Time::HiRes::time() > $deadline) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            $rc = -1;
            last;
        }
        Time::HiRes::sleep(0.02);
    }
    return { rc => $rc, out => slurp($out), err => slurp($err),
             cmd => join(' ', 'prepctl', @args) };
}

# prepctl_idle(ARGS…): prepctl, retried for up to 20 s while it is refused
# because a load runs (a banner republished after drill or close holds the
# store's lock), as an operator would.  The last result, with {tries}.
sub prepctl_idle {
    my $deadline = Time::HiRes::time() + 20;
    my ($r, $tries) = (undef, 0);
    while (1) {
        $r = prepctl(@_);
        $tries++;
        last unless $r->{rc} == 1 && $r->{err} =~ /load is running/i;
        last if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.5);
    }
    $r->{tries} = $tries;
    return $r;
}

# The lines of the feed's journal, STORE/journal.jsonl, as written (the
# last one included even when it has no newline: callers check that).
sub journal_lines {
    my $feed = shift;
    my $file = store($feed) . '/journal.jsonl';
    return () unless -e $file;
    my $text = slurp($file);
    return split /\n/, $text;
}

# The feed's journal decoded: a list of hashes (undef for a line that is
# not a JSON object).
sub journal {
    my $feed = shift;
    return map { my $l = $_; my $d = eval { $JSON->decode($l) }; ref $d eq 'HASH' ? $d : undef }
        journal_lines($feed);
}

# wait_journal(FEED, SECONDS, sub { $_[0] is a line }, FROM): the first
# line at index FROM (0) or later for which the sub is true, or undef.
sub wait_journal {
    my ($feed, $timeout, $cb, $from) = @_;
    return wait_for($timeout, sub {
        my @j = journal($feed);
        for my $i (($from // 0) .. $#j) {
            next unless $j[$i];
            return $j[$i] if $cb->($j[$i]);
        }
        return undef;
    });
}

# A graceful restart (SIGUSR1, what `apachectl graceful` sends): waits
# until the server answers again.  Returns the parent's pid.
sub restart_graceful {
    my $pid = server_pid() or return undef;
    kill 'USR1', $pid;
    Time::HiRes::sleep(1);
    wait_for(30, sub { my $r = http(GET => '/prep-status'); $r->code == 200 }, 0.1);
    return $pid;
}

1;
